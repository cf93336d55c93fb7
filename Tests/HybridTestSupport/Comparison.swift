// Comparing results: normalized mean squared error (backend vs backend, kernel vs reference)
// and the largest elementwise difference.

/// Σ (a − b)² / Σ b², with b the reference; 0 when both are all zero.
/// Counts of 1e-10 and below mean agreement to Float rounding.
public func nmse(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count, "nmse: \(a.count) values against \(b.count)")
    var error = 0.0, reference = 0.0
    for i in a.indices {
        let d = Double(a[i]) - Double(b[i])
        error += d * d
        reference += Double(b[i]) * Double(b[i])
    }
    if reference == 0 { return error == 0 ? 0 : .infinity }
    return error / reference
}

/// max_i |a[i] − b[i]|.
public func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count, "maxAbsDifference: \(a.count) values against \(b.count)")
    var worst = 0.0
    for i in a.indices { worst = max(worst, abs(Double(a[i]) - Double(b[i]))) }
    return worst
}

/// Σ_i out[i] · r[i] in Double: the scalar loss L whose gradient with respect to `out` is `r`.
/// Gradient tests take L = Σ out·R for a fixed random R, so the backward runs with dout = R.
public func weightedSum(_ out: [Float], _ r: [Float]) -> Double {
    precondition(out.count == r.count, "weightedSum: \(out.count) values against \(r.count) weights")
    var s = 0.0
    for i in out.indices { s += Double(out[i]) * Double(r[i]) }
    return s
}
