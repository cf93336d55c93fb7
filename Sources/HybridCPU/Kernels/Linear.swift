// Linear: a dense layer, weight stored PyTorch-style [out, in].
//
// Legend: N rows (= B*T), K in-features, M out-features.
//   forward:  out[N,M] = x[N,K] · w[M,K]ᵀ + bias[M]
//   backward: dx[N,K] += dout[N,M] · w[M,K]
//             dw[M,K] += dout[N,M]ᵀ · x[N,K]
//             dbias[M] += Σ_i dout[i,M]
// Each product is one sgemm split over the cores (transposes by flag, never by copy); accumulation is beta = 1.

public enum Linear {
    /// out[N,M] = x[N,K] · wᵀ + bias (bias nil: no bias).
    public static func forward(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                               bias: UnsafePointer<Float>?, N: Int, K: Int, M: Int) {
        guard N > 0, M > 0 else { return }
        if let bias {
            Parallel.forEachChunk(count: N, work: N * M) { rows in
                for i in rows { (out + i * M).update(from: bias, count: M) }
            }
        }
        guard K > 0 else {
            if bias == nil { out.update(repeating: 0, count: N * M) }
            return
        }
        Parallel.sgemm(transA: false, transB: true, M: N, N: M, K: K,
              alpha: 1, A: x, lda: K, B: weight, ldb: K, beta: bias == nil ? 0 : 1, C: out, ldc: M)
    }

    /// Accumulates dx[N,K], dweight[M,K], dbias[M] (each skipped when nil) from dout[N,M].
    public static func backward(dx: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>?, dbias: UnsafeMutablePointer<Float>?,
                                dout: UnsafePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                N: Int, K: Int, M: Int) {
        guard N > 0, M > 0 else { return }
        if let dx, K > 0 {
            Parallel.sgemm(transA: false, transB: false, M: N, N: K, K: M,
                  alpha: 1, A: dout, lda: M, B: weight, ldb: K, beta: 1, C: dx, ldc: K)
        }
        if let dweight, K > 0 {
            Parallel.sgemm(transA: true, transB: false, M: M, N: K, K: N,
                  alpha: 1, A: dout, lda: M, B: x, ldb: K, beta: 1, C: dweight, ldc: K)
        }
        if let dbias { accumulateColumnSums(into: dbias, from: dout, R: N, n: M) }
    }
}
