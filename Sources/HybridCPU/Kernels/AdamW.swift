// AdamW over one flat range of parameters, as torch.optim.AdamW (decoupled weight decay,
// bias-corrected moments, eps added after the square root).
//
// Legend: n parameters; t the 1-based step; decay, stepSize and rootCorrection2 from
// AdamWSettings.scalars (HybridCore), the same for every backend.
//   p ← p · decay                                    (decay = 1 − lr·wd)
//   m ← β1·m + (1 − β1)·g,   v ← β2·v + (1 − β2)·g²
//   p ← p − stepSize · (m / (sqrt(v) / rootCorrection2 + eps))
// Parameters, gradients and moments each live in one contiguous buffer, so this is one loop.

import HybridCore

public enum AdamW {
    /// One step over params[0..<n] with fp32 moments m and v, all updated in place.
    public static func update(params: UnsafeMutablePointer<Float>, grads: UnsafePointer<Float>,
                              m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, n: Int,
                              settings s: AdamWSettings, scalars c: AdamWScalars) {
        let beta1 = s.beta1, beta2 = s.beta2, oneMinusBeta1 = 1 - s.beta1, oneMinusBeta2 = 1 - s.beta2, eps = s.eps
        // Scalar on purpose: Float.squareRoot() lowers to sqrtss plus an errno fallback call,
        // which blocks vectorization (SIMD16.squareRoot() is 16 such calls). Measured ~4 ns per
        // parameter on one core: a few ms per step for millions of parameters.
        Parallel.forEachChunk(count: n, work: n * 8) { range in
            for i in range {
                let g = grads[i]
                let mi = beta1 * m[i] + oneMinusBeta1 * g
                let vi = beta2 * v[i] + oneMinusBeta2 * (g * g)
                m[i] = mi
                v[i] = vi
                params[i] = params[i] * c.decay - c.stepSize * (mi / (vi.squareRoot() / c.rootCorrection2 + eps))
            }
        }
    }

    /// One step over params[0..<n] with bfloat16 moment pairs (`MomentPrecision.bfloat16`: m in
    /// the low half of each word, v in the high half). The arithmetic is the fp32 step's; the
    /// new moments are rounded stochastically with the bits of `BFloat16.randomBits` for element
    /// `first + i` at `step`, so a backend that shares them gets the same words.
    public static func update(params: UnsafeMutablePointer<Float>, grads: UnsafePointer<Float>,
                              moments: UnsafeMutablePointer<UInt32>, n: Int, first: Int, step: Int,
                              settings s: AdamWSettings, scalars c: AdamWScalars) {
        let beta1 = s.beta1, beta2 = s.beta2, oneMinusBeta1 = 1 - s.beta1, oneMinusBeta2 = 1 - s.beta2, eps = s.eps
        let t = UInt32(truncatingIfNeeded: step)
        Parallel.forEachChunk(count: n, work: n * 12) { range in
            for i in range {
                let g = grads[i], pair = moments[i]
                let mi = beta1 * BFloat16.float(UInt16(truncatingIfNeeded: pair)) + oneMinusBeta1 * g
                let vi = beta2 * BFloat16.float(UInt16(truncatingIfNeeded: pair >> 16)) + oneMinusBeta2 * (g * g)
                let random = BFloat16.randomBits(index: UInt32(truncatingIfNeeded: first + i), step: t)
                moments[i] = UInt32(BFloat16.stochastic(mi, random: random)) | UInt32(BFloat16.stochastic(vi, random: random >> 16)) << 16
                params[i] = params[i] * c.decay - c.stepSize * (mi / (vi.squareRoot() / c.rootCorrection2 + eps))
            }
        }
    }
}
