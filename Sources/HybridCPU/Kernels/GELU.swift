// GELU, tanh approximation — torch.nn.functional.gelu(x, approximate="tanh"): the arithmetic
// is in CVectorMath (built for the CPU's vector width); this splits it over the cores.
//
// Legend: n elements (any shape, flattened); β = sqrt(2/π), κ = 0.044715.
//   forward:  u = β·(x + κ·x³),  out = 0.5·x·(1 + tanh u)
//   backward: dx += dout · (0.5·(1 + tanh u) + 0.5·x·(1 − tanh² u) · β·(1 + 3κ·x²))

import CVectorMath

public enum GELU {
    /// out[n] = gelu_tanh(x[n]). `out` may alias `x` (but then backward lacks its input).
    public static func forward(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, n: Int) {
        Parallel.forEachChunk(count: n, work: n * 8) { range in
            hybrid_gelu_forward(out + range.lowerBound, x + range.lowerBound, range.count)
        }
    }

    /// dx[n] += dout[n] · gelu_tanh'(x[n]).
    public static func backward(dx: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, dout: UnsafePointer<Float>, n: Int) {
        Parallel.forEachChunk(count: n, work: n * 8) { range in
            let i = range.lowerBound
            hybrid_gelu_backward(dx + i, x + i, dout + i, range.count)
        }
    }
}
