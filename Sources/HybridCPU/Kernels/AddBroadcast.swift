// AddBroadcast: a row vector added to every row of a matrix — biases, and the first T rows of a
// position table added to each of the B sequences ([B*T, C] + [T*C] with R = B, n = T*C).
//
// Legend: R rows the vector is repeated over, n elements per row.
//   forward:  out[R,n] = x[R,n] + y[n]   (y broadcast over rows)
//   backward: dx[R,n] += dout[R,n],  dy[n] += Σ_r dout[r,n]

public enum AddBroadcast {
    /// out[R,n] = x[R,n] + y[n]. `out` may alias `x`.
    public static func forward(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, y: UnsafePointer<Float>, R: Int, n: Int) {
        Parallel.forEachChunk(count: R, work: R * n) { rows in
            for r in rows {
                let o = out + r * n, xr = x + r * n
                for j in 0..<n { o[j] = xr[j] + y[j] }
            }
        }
    }

    /// dx[R,n] += dout[R,n]; dy[n] += column sums of dout.
    public static func backward(dx: UnsafeMutablePointer<Float>?, dy: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>, R: Int, n: Int) {
        if let dx {
            let count = R * n
            Parallel.forEachChunk(count: count, work: count) { range in
                for i in range { dx[i] += dout[i] }
            }
        }
        if let dy { accumulateColumnSums(into: dy, from: dout, R: R, n: n) }
    }
}
