// Global gradient-norm clipping: the sum of squares of a flat gradient buffer, and an in-place
// rescale. The caller combines them: norm = sqrt(Σ sumOfSquares); if norm > max, scale by max/norm.
//
// Legend: n elements (any shape, flattened).

public enum GradNorm {
    /// Σ x[i]² over x[0..<n], accumulated in Double.
    public static func sumOfSquares(x: UnsafePointer<Float>, n: Int) -> Double {
        Parallel.sum(count: n, work: n) { range in
            doubleSumOfSquares(x + range.lowerBound, range.count)
        }
    }

    /// x[n] *= s in place.
    public static func scale(x: UnsafeMutablePointer<Float>, n: Int, s: Float) {
        Parallel.forEachChunk(count: n, work: n) { range in
            for i in range { x[i] *= s }
        }
    }
}
