// GELU, tanh approximation — torch.nn.functional.gelu(x, approximate="tanh").
//
// Legend: n elements (any shape, flattened); β = sqrt(2/π), κ = 0.044715.
//   forward:  u = β·(x + κ·x³),  out = 0.5·x·(1 + tanh u)
//   backward: dx += dout · (0.5·(1 + tanh u) + 0.5·x·(1 − tanh² u) · β·(1 + 3κ·x²))
// The derivative follows PyTorch's GeluBackward (approximate tanh) term by term. 16 lanes at a
// time with a vector tanh (absolute error ~1e-7); tails run the same vector code.

public enum GELU {
    static let beta: Float = 0.797_884_560_802_865_4   // sqrt(2/π) = M_SQRT2 · M_2_SQRTPI · 0.5
    static let kappa: Float = 0.044_715

    /// out[n] = gelu_tanh(x[n]). `out` may alias `x` (but then backward lacks its input).
    public static func forward(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, n: Int) {
        Parallel.forEachChunk(count: n, work: n * 8) { range in
            var i = range.lowerBound
            while i + 16 <= range.upperBound {
                (out + i).store16(value(x.load16(i)))
                i += 16
            }
            if i < range.upperBound {
                let tail = range.upperBound - i
                (out + i).storePartial16(value((x + i).loadPartial16(count: tail)), count: tail)
            }
        }
    }

    /// dx[n] += dout[n] · gelu_tanh'(x[n]).
    public static func backward(dx: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, dout: UnsafePointer<Float>, n: Int) {
        Parallel.forEachChunk(count: n, work: n * 8) { range in
            var i = range.lowerBound
            while i + 16 <= range.upperBound {
                (dx + i).store16(dx.load16(i) + dout.load16(i) * derivative(x.load16(i)))
                i += 16
            }
            if i < range.upperBound {
                let tail = range.upperBound - i
                let g = (dx + i).loadPartial16(count: tail)
                    + (dout + i).loadPartial16(count: tail) * derivative((x + i).loadPartial16(count: tail))
                (dx + i).storePartial16(g, count: tail)
            }
        }
    }

    @inline(__always)
    static func value(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let inner = beta * (x + kappa * (x * x * x))
        return 0.5 * x * (1 + tanh16(inner))
    }

    @inline(__always)
    static func derivative(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let xSquared = x * x
        let inner = beta * (x + kappa * (xSquared * x))
        let t = tanh16(inner)
        let left = 0.5 * x
        let right = 1 + t
        let leftDerivative = 0.5 * right
        let tanhDerivative = 1 - t * t
        let innerDerivative = beta * (1 + 3 * kappa * xSquared)
        return leftDerivative + left * tanhDerivative * innerDerivative
    }
}
