import COpenBLAS

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
