// Mean-squared error with per-row weights (regression heads, denoising targets).
//
// Legend: N rows (= B*T), F features per row; W = max(Σ_i weights[i], 1), the same normaliser
// as CrossEntropy, so the two losses read alike and sit on one scale in a mixture.
//   forward:  loss = Σ_i weights[i] · (1/F) Σ_f (prediction[i,f] − target[i,f])² / W   (sums in Double)
//   backward: dprediction[i,f] += dloss · weights[i] / W · 2 (prediction[i,f] − target[i,f]) / F
//             dtarget[i,f]     −= the same
// With all weights 1 the loss is the plain mean over all N·F elements. A row of weight 0
// contributes nothing and its prediction and target are never read (padding may hold NaN).

public enum MSE {
    /// Writes the scalar loss[0]; prediction and target are [N,F], weights [N].
    public static func forward(loss: UnsafeMutablePointer<Float>, prediction: UnsafePointer<Float>, target: UnsafePointer<Float>,
                               weights: UnsafePointer<Float>, N: Int, F: Int) {
        let total = Parallel.sum(count: N, work: N * F * 3) { rows in
            var partial = 0.0
            for i in rows {
                let w = weights[i]
                guard w != 0 else { continue }
                partial += Double(w) * doubleSumOfSquaredDifferences(prediction + i * F, target + i * F, F)
            }
            return partial
        }
        loss[0] = F > 0 ? Float(total / Double(F) / CrossEntropy.normalizer(.weights, weights, N)) : 0
    }

    /// dprediction[N,F] += g_i · (prediction − target) and dtarget[N,F] −= the same, with
    /// g_i = dloss · weights[i] / W · 2 / F. A nil gradient is skipped.
    public static func backward(dprediction: UnsafeMutablePointer<Float>?, dtarget: UnsafeMutablePointer<Float>?,
                                prediction: UnsafePointer<Float>, target: UnsafePointer<Float>, weights: UnsafePointer<Float>,
                                dloss: Float, N: Int, F: Int) {
        guard F > 0, dprediction != nil || dtarget != nil else { return }
        let perWeight = Float(2 * Double(dloss) / Double(F) / CrossEntropy.normalizer(.weights, weights, N))
        Parallel.forEachChunk(count: N, work: N * F * 2) { rows in
            for i in rows {
                let w = weights[i]
                guard w != 0 else { continue }
                let g = perWeight * w
                let p = prediction + i * F, t = target + i * F
                if let dprediction {
                    let d = dprediction + i * F
                    for f in 0..<F { d[f] += g * (p[f] - t[f]) }
                }
                if let dtarget {
                    let d = dtarget + i * F
                    for f in 0..<F { d[f] -= g * (p[f] - t[f]) }
                }
            }
        }
    }

    /// Σ_f (a[f] − b[f])² for f in 0..<n: differences in Float, squares summed in Double.
    @inline(__always)
    static func doubleSumOfSquaredDifferences(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Double {
        var acc = SIMD8<Double>()
        var f = 0
        while f + 16 <= n {
            let v = a.load16(f) - b.load16(f)
            let lo = SIMD8<Double>(v.lowHalf), hi = SIMD8<Double>(v.highHalf)
            acc += lo * lo + hi * hi
            f += 16
        }
        var s = acc.sum()
        while f < n { let d = Double(a[f] - b[f]); s += d * d; f += 1 }
        return s
    }
}
