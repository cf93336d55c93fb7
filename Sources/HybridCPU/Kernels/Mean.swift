// Mean of all elements to a scalar (reductions of per-position losses).
//
// Legend: n elements (any shape, flattened).
//   forward:  out = Σ x / n        (accumulated in Double)
//   backward: dx[n] += dout / n

public enum Mean {
    /// out[0] = mean of x[0..<n] (0 when n == 0).
    public static func forward(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, n: Int) {
        let total = Parallel.sum(count: n, work: n) { range in
            doubleSum(x + range.lowerBound, range.count)
        }
        out[0] = n > 0 ? Float(total / Double(n)) : 0
    }

    /// dx[n] += dout / n, where dout is the scalar gradient of the mean.
    public static func backward(dx: UnsafeMutablePointer<Float>, dout: Float, n: Int) {
        guard n > 0 else { return }
        let g = Float(Double(dout) / Double(n))
        Parallel.forEachChunk(count: n, work: n) { range in
            for i in range { dx[i] += g }
        }
    }
}
