// Mul: elementwise product of two same-shaped tensors (gates).
//
// Legend: n elements (any shape, flattened).
//   forward:  out[n] = a[n] * b[n]
//   backward: da[n] += dout[n] * b[n],  db[n] += dout[n] * a[n]

public enum Mul {
    /// out[n] = a[n] * b[n]. `out` may alias `a` or `b` (but then backward lacks its inputs).
    public static func forward(out: UnsafeMutablePointer<Float>, a: UnsafePointer<Float>, b: UnsafePointer<Float>, n: Int) {
        Parallel.forEachChunk(count: n, work: n) { range in
            for i in range { out[i] = a[i] * b[i] }
        }
    }

    /// da[n] += dout·b; db[n] += dout·a. `da` and `db` may be the same buffer (out = x * x).
    public static func backward(da: UnsafeMutablePointer<Float>?, db: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>,
                                a: UnsafePointer<Float>, b: UnsafePointer<Float>, n: Int) {
        Parallel.forEachChunk(count: n, work: n) { range in
            if let da { for i in range { da[i] += dout[i] * b[i] } }
            if let db { for i in range { db[i] += dout[i] * a[i] } }
        }
    }
}
