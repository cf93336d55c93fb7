// Parallel.sgemm: the product split over the cores into bands of C's rows or columns matches a
// triple loop for every transpose, with padded leading dimensions and beta = 1 accumulation.

import HybridCPU
import HybridTestSupport
import Testing

@Suite("Parallel sgemm")
struct SgemmTests {
    /// Large enough to split (M·N·K ≥ 2²⁰ multiply-adds), once along rows and once along columns,
    /// with band edges that fall inside a 16-float block.
    @Test("split product matches a triple loop", arguments: [(150, 37, 200), (37, 150, 200)], [(false, false), (true, false), (false, true), (true, true)])
    func reference(shape: (Int, Int, Int), transposes: (Bool, Bool)) {
        let (M, N, K) = shape, (transA, transB) = transposes
        #expect(M * N * K >= 1 << 20)
        // Stored shapes ([rows, columns]) with 3 floats of padding in every row.
        let (aRows, aColumns) = transA ? (K, M) : (M, K)
        let (bRows, bColumns) = transB ? (N, K) : (K, N)
        let lda = aColumns + 3, ldb = bColumns + 3, ldc = N + 3
        var rng = SeededRNG(seed: 54)
        let a = rng.uniform(count: aRows * lda), b = rng.uniform(count: bRows * ldb), c0 = rng.uniform(count: M * ldc)
        func at(_ x: [Float], _ ld: Int, _ r: Int, _ c: Int, _ t: Bool) -> Double { Double(t ? x[c * ld + r] : x[r * ld + c]) }
        var expected = c0
        for i in 0..<M {
            for j in 0..<N {
                var s = 0.0
                for k in 0..<K { s += at(a, lda, i, k, transA) * at(b, ldb, k, j, transB) }
                expected[i * ldc + j] = Float(0.5 * s + Double(c0[i * ldc + j]))
            }
        }
        let A = Buffer(a), B = Buffer(b), C = Buffer(c0)
        withExtendedLifetime((A, B)) {
            Parallel.sgemm(transA: transA, transB: transB, M: M, N: N, K: K, alpha: 0.5, A: A.p, lda: lda,
                           B: B.p, ldb: ldb, beta: 1, C: C.p, ldc: ldc)
        }
        #expect(nmse(C.array, expected) < 1e-12, "M=\(M) N=\(N) K=\(K) transA=\(transA) transB=\(transB)")
        // The padding of C's rows is never written.
        #expect((0..<M).allSatisfy { i in (N..<ldc).allSatisfy { C.array[i * ldc + $0] == c0[i * ldc + $0] } })
    }
}
