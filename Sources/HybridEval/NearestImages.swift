import HybridTrain
import HybridCPU

/// Euclidean distance from each query vector to its nearest reference vector: how to tell a
/// sampler that copies its training images (as Carlini et al. 2023 found generations by their
/// nearness to one), which a Fréchet distance to those same images scores as perfect.
///     queries [Q, n], references [R, n] → nearest [Q]
public enum NearestImages {
    /// ‖q − r‖² = ‖q‖² + ‖r‖² − 2 q·r, the cross terms as one SGEMM in blocks of queries.
    public static func distances(_ queries: [Float], count: Int, to references: [Float], count referenceCount: Int, n: Int) -> [Double] {
        precondition(queries.count == count * n && references.count == referenceCount * n && referenceCount > 0,
                     "nearest: \(queries.count) and \(references.count) values for \(count) and \(referenceCount) vectors of \(n)")
        let block = 256
        var dots = [Float](repeating: 0, count: block * referenceCount)
        var nearest = [Double](repeating: 0, count: count)
        let referenceNorms = squaredNorms(references, count: referenceCount, n: n)
        let queryNorms = squaredNorms(queries, count: count, n: n)
        for first in stride(from: 0, to: count, by: block) {
            let rows = min(block, count - first)
            queries.withUnsafeBufferPointer { q in
                Parallel.sgemm(transA: false, transB: true, M: rows, N: referenceCount, K: n, alpha: 1,
                               A: q.baseAddress! + first * n, lda: n, B: references, ldb: n, beta: 0, C: &dots, ldc: referenceCount)
            }
            dots.withUnsafeBufferPointer { d in
                referenceNorms.withUnsafeBufferPointer { r in
                    for i in 0..<rows {
                        var best = Double.infinity
                        for j in 0..<referenceCount { best = min(best, r[j] - 2 * Double(d[i * referenceCount + j])) }
                        nearest[first + i] = (max(queryNorms[first + i] + best, 0)).squareRoot()
                    }
                }
            }
        }
        return nearest
    }

    private static func squaredNorms(_ x: [Float], count: Int, n: Int) -> [Double] {
        x.withUnsafeBufferPointer { p in
            (0..<count).map { i in (0..<n).reduce(0.0) { $0 + Double(p[i * n + $1]) * Double(p[i * n + $1]) } }
        }
    }
}
