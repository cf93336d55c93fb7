// LayerNorm over the channel dimension, as torch.nn.LayerNorm (biased variance, eps inside sqrt).
//
// Legend: N rows (= B*T), C channels.
//   forward:  mean[N] = Σ_c x / C,  rstd[N] = 1 / sqrt(Σ_c (x − mean)² / C + eps)
//             xhat[N,C] = (x − mean) · rstd,  out[N,C] = xhat · w[C] + b[C]
//   backward: g = dout · w
//             dx[N,C] += rstd · (g − mean_c(g) − xhat · mean_c(g · xhat))
//             dw[C]   += Σ_rows dout · xhat,   db[C] += Σ_rows dout
// mean and rstd are saved by the forward for the backward. dx is split over rows; dw and db,
// which reduce over rows, in a second pass split over channel ranges (no scratch, no races).

public enum LayerNorm {
    /// out[N,C] = LayerNorm(x) · weight + bias; writes mean[N] and rstd[N] for the backward.
    public static func forward(out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
                               x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                               N: Int, C: Int, eps: Float) {
        Parallel.forEachChunk(count: N, work: N * C) { rows in
            for i in rows {
                let xr = x + i * C, o = out + i * C
                let m = rowSum(xr, C) / Float(C)
                // Two-pass variance: Σ (x − m)², 16 lanes at a time.
                var acc = SIMD16<Float>()
                var c = 0
                while c + 16 <= C { let d = xr.load16(c) - m; acc += d * d; c += 16 }
                var v = acc.sum()
                while c < C { let d = xr[c] - m; v += d * d; c += 1 }
                let r = 1 / (v / Float(C) + eps).squareRoot()
                mean[i] = m
                rstd[i] = r
                for c in 0..<C { o[c] = (xr[c] - m) * r * weight[c] + bias[c] }
            }
        }
    }

    /// Accumulates dx[N,C], dweight[C], dbias[C] (each skipped when nil) from dout[N,C].
    public static func backward(dx: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>?, dbias: UnsafeMutablePointer<Float>?,
                                dout: UnsafePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, N: Int, C: Int) {
        if let dx {
            Parallel.forEachChunk(count: N, work: N * C) { rows in
                for i in rows {
                    let xr = x + i * C, g = dout + i * C, d = dx + i * C
                    let m = mean[i], r = rstd[i]
                    // Σ_c dout·w and Σ_c dout·w·xhat.
                    var accG = SIMD16<Float>(), accGX = SIMD16<Float>()
                    var c = 0
                    while c + 16 <= C {
                        let gw = g.load16(c) * weight.load16(c)
                        accG += gw
                        accGX += gw * ((xr.load16(c) - m) * r)
                        c += 16
                    }
                    var sumG = accG.sum(), sumGX = accGX.sum()
                    while c < C {
                        let gw = g[c] * weight[c]
                        sumG += gw
                        sumGX += gw * ((xr[c] - m) * r)
                        c += 1
                    }
                    let meanG = sumG / Float(C), meanGX = sumGX / Float(C)
                    for c in 0..<C {
                        let xhat = (xr[c] - m) * r
                        d[c] += r * (g[c] * weight[c] - meanG - xhat * meanGX)
                    }
                }
            }
        }
        guard dweight != nil || dbias != nil else { return }
        Parallel.forEachChunk(count: C, work: C >= 128 ? N * C : 0) { channels in
            for i in 0..<N {
                let xr = x + i * C, g = dout + i * C
                let m = mean[i], r = rstd[i]
                if let dweight { for c in channels { dweight[c] += g[c] * ((xr[c] - m) * r) } }
                if let dbias { for c in channels { dbias[c] += g[c] } }
            }
        }
    }
}
