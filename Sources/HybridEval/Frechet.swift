import HybridTrain
import COpenBLAS
import HybridCore

/// The Fréchet distance between two sets of feature vectors, each summarised by its mean and
/// covariance as a Gaussian (FID's formula, Heusel et al. 2017):
///     d² = ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁^½ Σ₂ Σ₁^½)^½
/// The matrix square roots come from symmetric eigendecompositions (LAPACK dsyev), which keeps
/// the middle term real: Σ₁^½ Σ₂ Σ₁^½ is symmetric positive semi-definite.
public enum Frechet {
    /// Mean [n] and covariance [n, n] (row-major, divided by count − 1) of `count` vectors of
    /// `n` values, row-major in `x`.
    public static func moments(_ x: [Float], count: Int, n: Int) -> (mean: [Double], covariance: [Double]) {
        precondition(count >= 2 && x.count == count * n, "moments: \(x.count) values for \(count) vectors of \(n)")
        var mean = [Double](repeating: 0, count: n)
        for i in 0..<count { for j in 0..<n { mean[j] += Double(x[i * n + j]) } }
        for j in 0..<n { mean[j] /= Double(count) }
        var centred = [Double](repeating: 0, count: count * n)
        for i in 0..<count { for j in 0..<n { centred[i * n + j] = Double(x[i * n + j]) - mean[j] } }
        var covariance = [Double](repeating: 0, count: n * n)
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(n), Int32(count), 1 / Double(count - 1),
                    centred, Int32(n), 0, &covariance, Int32(n))
        for r in 0..<n { for c in 0..<r { covariance[r * n + c] = covariance[c * n + r] } }
        return (mean, covariance)
    }

    /// d² between the Gaussians of the two sets of `n`-value vectors.
    public static func distance(_ a: [Float], count countA: Int, _ b: [Float], count countB: Int, n: Int) throws -> Double {
        let (m1, s1) = moments(a, count: countA, n: n), (m2, s2) = moments(b, count: countB, n: n)
        return try distance(mean1: m1, covariance1: s1, mean2: m2, covariance2: s2, n: n)
    }

    /// What "perfect" reads: the distance between two disjoint random halves of the same `count`
    /// vectors, averaged over `splits` shuffles (one split's figure moves by a fifth or more
    /// from shuffle to shuffle at a few hundred vectors a side), with its spread (sample
    /// standard deviation) and the halves' sizes.
    public static func halves(_ x: [Float], count: Int, n: Int, splits: Int) throws -> (sizes: (Int, Int), mean: Double, spread: Double) {
        precondition(splits >= 2, "halves: at least 2 splits")
        let sizes = (count / 2, count - count / 2)
        var values: [Double] = []
        for split in 0..<splits {
            // Random halves: a file's order follows its writers, so its own halves would measure a
            // shift between people, not what sampling noise alone gives.
            var order = Array(0..<count), stream = RandomStream(seed: UInt64(split + 1), stream: RandomStream.streamID("real-halves"))
            for i in stride(from: count - 1, to: 0, by: -1) { order.swapAt(i, stream.below(i + 1)) }
            let a = order[..<sizes.0].flatMap { x[($0 * n)..<(($0 + 1) * n)] }, b = order[sizes.0...].flatMap { x[($0 * n)..<(($0 + 1) * n)] }
            values.append(try distance(a, count: sizes.0, b, count: sizes.1, n: n))
        }
        let mean = values.reduce(0, +) / Double(splits)
        let spread = (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(splits - 1)).squareRoot()
        return (sizes, mean, spread)
    }

    /// The distance expected between `counts.0` and `counts.1` vectors drawn from one
    /// distribution, from `measured` at `sizes`: the plug-in estimate's bias shrinks as
    /// 1/n₁ + 1/n₂ (Chong & Forsyth 2020, "Effectively Unbiased FID"), so a sampler that drew
    /// exactly the real distribution would read about this, not 0.
    public static func floor(measured: Double, sizes: (Int, Int), counts: (Int, Int)) -> Double {
        measured * (1 / Double(counts.0) + 1 / Double(counts.1)) / (1 / Double(sizes.0) + 1 / Double(sizes.1))
    }

    public static func distance(mean1: [Double], covariance1: [Double], mean2: [Double], covariance2: [Double], n: Int) throws -> Double {
        let meanTerm = zip(mean1, mean2).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
        let trace1 = (0..<n).reduce(0.0) { $0 + covariance1[$1 * n + $1] }
        let trace2 = (0..<n).reduce(0.0) { $0 + covariance2[$1 * n + $1] }
        let root1 = try squareRoot(covariance1, n: n)
        // M = Σ₁^½ Σ₂ Σ₁^½, then tr M^½ = Σ √λ(M).
        var t = [Double](repeating: 0, count: n * n), m = t
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, root1, Int32(n),
                    covariance2, Int32(n), 0, &t, Int32(n))
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, t, Int32(n),
                    root1, Int32(n), 0, &m, Int32(n))
        for r in 0..<n { for c in 0..<r { let v = (m[r * n + c] + m[c * n + r]) / 2; m[r * n + c] = v; m[c * n + r] = v } }
        let (values, _) = try eigen(m, n: n)
        let traceRoot = values.reduce(0.0) { $0 + max($1, 0).squareRoot() }
        return max(0, meanTerm + trace1 + trace2 - 2 * traceRoot)
    }

    /// The symmetric positive semi-definite square root V diag(√max(λ, 0)) Vᵀ.
    static func squareRoot(_ a: [Double], n: Int) throws -> [Double] {
        let (values, vectors) = try eigen(a, n: n)
        // vectors: column-major from LAPACK, i.e. row-major Vᵀ; scale row k by √λ_k.
        var scaled = vectors
        for k in 0..<n { let s = max(values[k], 0).squareRoot(); for j in 0..<n { scaled[k * n + j] *= s } }
        var root = [Double](repeating: 0, count: n * n)
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, vectors, Int32(n),
                    scaled, Int32(n), 0, &root, Int32(n))
        return root
    }

    /// Eigenvalues (ascending) and eigenvectors (vector k at [k*n ..< (k+1)*n]) of a symmetric
    /// matrix.
    static func eigen(_ a: [Double], n: Int) throws -> (values: [Double], vectors: [Double]) {
        var matrix = a, values = [Double](repeating: 0, count: n)
        var size = Int32(n), lda = Int32(n), info: Int32 = 0, query = 0.0, lwork: Int32 = -1
        dsyev_("V", "U", &size, &matrix, &lda, &values, &query, &lwork, &info)
        lwork = Int32(query)
        var work = [Double](repeating: 0, count: Int(lwork))
        dsyev_("V", "U", &size, &matrix, &lda, &values, &work, &lwork, &info)
        guard info == 0 else { throw TrainError("eigendecomposition failed (LAPACK dsyev info \(info))") }
        return (values, matrix)
    }
}
