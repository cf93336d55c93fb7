// Add: elementwise sum of two same-shaped tensors (residual connections).
//
// Legend: n elements (any shape, flattened).
//   forward:  out[n] = a[n] + b[n]
//   backward: da[n] += dout[n],  db[n] += dout[n]

public enum Add {
    /// out[n] = a[n] + b[n]. `out` may alias `a` or `b`.
    public static func forward(out: UnsafeMutablePointer<Float>, a: UnsafePointer<Float>, b: UnsafePointer<Float>, n: Int) {
        Parallel.forEachChunk(count: n, work: n) { range in
            for i in range { out[i] = a[i] + b[i] }
        }
    }

    /// da[n] += dout[n]; db[n] += dout[n]. `da` and `db` may be the same buffer (out = x + x).
    public static func backward(da: UnsafeMutablePointer<Float>?, db: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>, n: Int) {
        Parallel.forEachChunk(count: n, work: n) { range in
            if let da { for i in range { da[i] += dout[i] } }
            if let db { for i in range { db[i] += dout[i] } }
        }
    }
}
