// Finite-difference gradient checks for anything with a scalar loss: a kernel, a graph, a model.
//
//   let check = checkGradient(at: x, analytic: dx) { x in weightedSum(forward(x), r) }
//   #expect(check.normalizedError < 1e-2, "\(check)")
//
// Central differences, (L(x + h·e_i) − L(x − h·e_i)) / 2h, in Double around a forward that may
// run in Float. The error is measured against the largest gradient component, so components
// that are tiny next to the rest (where Float rounding dominates) do not fail the check.

public struct GradientCheck: CustomStringConvertible, Sendable {
    /// The coordinates that were perturbed.
    public let indices: [Int]
    /// Finite-difference gradient at `indices`.
    public let numeric: [Double]
    /// The analytic gradient under test at `indices`.
    public let analytic: [Double]
    /// max_i |analytic − numeric| and the coordinate where it occurs.
    public let maxAbsError: Double
    public let worstIndex: Int
    /// max(max_i |numeric|, max_i |analytic|, floor): the scale errors are measured against.
    public let scale: Double

    /// maxAbsError / scale. Float forwards with h ≈ 1e-2 typically reach 1e-5..1e-3.
    public var normalizedError: Double { maxAbsError / scale }

    public var description: String {
        guard let k = indices.firstIndex(of: worstIndex) else { return "gradient check of no coordinates" }
        return "gradient check over \(indices.count) coordinates: normalized error \(normalizedError) "
            + "(max |error| \(maxAbsError) at index \(worstIndex): analytic \(analytic[k]), numeric \(numeric[k]); "
            + "scale \(scale))"
    }
}

/// Compares `analytic` (the gradient of `loss` at `point`) with central differences.
/// - Parameters:
///   - step: the perturbation h; 1e-2 suits Float forwards of smooth functions, 1e-3 near kinks.
///   - indices: the coordinates to perturb (all when nil) — sample a few for large inputs.
///   - floor: the smallest scale errors are measured against, for all-but-zero gradients.
///   - loss: the scalar loss as a function of the (perturbed) input.
public func checkGradient(at point: [Float], analytic: [Float], step: Float = 1e-2, indices: [Int]? = nil,
                          floor: Double = 1e-3, loss: ([Float]) -> Double) -> GradientCheck {
    precondition(point.count == analytic.count, "checkGradient: \(point.count) inputs but \(analytic.count) gradient values")
    let checked = indices ?? Array(point.indices)
    var x = point
    var numeric: [Double] = []
    var picked: [Double] = []
    var maxAbsError = 0.0, worstIndex = checked.first ?? 0, scale = floor
    for i in checked {
        let original = x[i]
        x[i] = original + step
        let plus = loss(x)
        x[i] = original - step
        let minus = loss(x)
        x[i] = original
        // The step actually taken in Float, so the quotient matches the perturbation.
        let h = Double(original + step) - Double(original - step)
        let n = (plus - minus) / h
        let a = Double(analytic[i])
        numeric.append(n)
        picked.append(a)
        scale = max(scale, abs(n), abs(a))
        let error = abs(a - n)
        if error > maxAbsError { maxAbsError = error; worstIndex = i }
    }
    return GradientCheck(indices: checked, numeric: numeric, analytic: picked,
                         maxAbsError: maxAbsError, worstIndex: worstIndex, scale: scale)
}
