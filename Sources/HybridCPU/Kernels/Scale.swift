// Scale: multiplication by a constant scalar.
//
// Legend: n elements (any shape, flattened), s a Float constant (not a parameter).
//   forward:  out[n] = s * x[n]
//   backward: dx[n] += s * dout[n]

public enum Scale {
    /// out[n] = s · x[n]. `out` may alias `x`.
    public static func forward(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, s: Float, n: Int) {
        Parallel.forEachChunk(count: n, work: n) { range in
            for i in range { out[i] = s * x[i] }
        }
    }

    /// dx[n] += s · dout[n].
    public static func backward(dx: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, s: Float, n: Int) {
        Parallel.forEachChunk(count: n, work: n) { range in
            for i in range { dx[i] += s * dout[i] }
        }
    }
}
