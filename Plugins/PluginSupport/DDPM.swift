// The DDPM forward process and its ancestral sampler (Ho, Jain & Abbeel 2020), with the cosine
// schedule of Nichol & Dhariwal 2021 and the v-parameterisation of Salimans & Ho 2022, plus the
// sinusoidal timestep embedding the model sees.
// T steps; t ∈ 0..<T is a noise level: x_t is x0 after t + 1 forward steps,
// ᾱ_t = Π_{i≤t} (1 − β_i), and ᾱ_{−1} = 1 (x_{−1} is x0 itself), as in the PyTorch reference.
// The schedule lives in Double. Images are Float buffers of `count` values transformed
// elementwise, with the arithmetic in Double and one rounding to Float per value.
import Glibc

/// What the model predicts from (x_t, t).
public enum DDPMPrediction: String, Sendable, CaseIterable {
    /// ε, the noise that was added.
    case epsilon
    /// v = √ᾱ_t ε − √(1 − ᾱ_t) x0.
    case v
}

public struct DDPMSchedule: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        /// β evenly from 1e-4 to 0.02 (torch.linspace in float64).
        case linear
        /// ᾱ(t) = f(t)/f(0), f(t) = cos²((t/T + s)/(1 + s) · π/2), s = 0.008; β ≤ 0.999.
        case cosine
    }

    public let kind: Kind
    /// β_t, α_t = 1 − β_t and ᾱ_t = Π_{i≤t} α_i, for t ∈ 0..<T.
    public let betas: [Double]
    public let alphas: [Double]
    public let alphaBar: [Double]

    /// T.
    public var steps: Int { betas.count }

    public init(_ kind: Kind, steps: Int = 1000) {
        precondition(steps >= 2, "DDPMSchedule: \(steps) steps; expected at least 2")
        self.kind = kind
        let T = Double(steps)
        switch kind {
        case .linear:
            // torch.linspace's float64 formula: from the start for the first half, from the end
            // for the second, so the ends are exact.
            let start = 1e-4, end = 0.02, step = (end - start) / (T - 1)
            betas = (0..<steps).map { i in
                i < steps / 2 ? start + step * Double(i) : end - step * Double(steps - 1 - i)
            }
        case .cosine:
            let s = 0.008
            func f(_ t: Double) -> Double {
                let c = cos((t / T + s) / (1 + s) * Double.pi / 2)
                return c * c
            }
            betas = (0..<steps).map { i in min(1 - f(Double(i + 1)) / f(Double(i)), 0.999) }
        }
        alphas = betas.map { 1 - $0 }
        var product = 1.0
        alphaBar = alphas.map { alpha in
            product *= alpha
            return product
        }
    }

    /// x_t = √ᾱ_t x0 + √(1 − ᾱ_t) ε: a draw from q(x_t | x0). x0, noise, xt: [count].
    public func noised(_ x0: UnsafePointer<Float>, _ noise: UnsafePointer<Float>, t: Int,
                       into xt: UnsafeMutablePointer<Float>, count: Int) {
        let a = alphaBar[t].squareRoot(), s = (1 - alphaBar[t]).squareRoot()
        for i in 0..<count { xt[i] = Float(a * Double(x0[i]) + s * Double(noise[i])) }
    }

    /// v = √ᾱ_t ε − √(1 − ᾱ_t) x0, the v-prediction target. x0, noise, v: [count].
    public func vTarget(_ x0: UnsafePointer<Float>, _ noise: UnsafePointer<Float>, t: Int,
                        into v: UnsafeMutablePointer<Float>, count: Int) {
        let a = alphaBar[t].squareRoot(), s = (1 - alphaBar[t]).squareRoot()
        for i in 0..<count { v[i] = Float(a * Double(noise[i]) - s * Double(x0[i])) }
    }

    /// The x0 and ε a model output at x_t stands for. output, xt, x0, epsilon: [count].
    ///   ε-prediction: x0 = (x_t − √(1 − ᾱ_t) ε) / √ᾱ_t, ε = output;
    ///   v-prediction: x0 = √ᾱ_t x_t − √(1 − ᾱ_t) v,    ε = √(1 − ᾱ_t) x_t + √ᾱ_t v.
    public func predictions(from output: UnsafePointer<Float>, at xt: UnsafePointer<Float>, t: Int,
                            prediction: DDPMPrediction, x0: UnsafeMutablePointer<Float>,
                            epsilon: UnsafeMutablePointer<Float>, count: Int) {
        let c = coefficients(t, prediction)
        for i in 0..<count {
            let x = Double(xt[i]), o = Double(output[i])
            x0[i] = Float(c.x0FromXt * x + c.x0FromOutput * o)
            epsilon[i] = Float(c.epsilonFromXt * x + c.epsilonFromOutput * o)
        }
    }

    /// q(x_{t−1} | x_t, x0) = N(x0Coefficient · x0 + xtCoefficient · x_t, variance):
    ///   x0Coefficient = β_t √ᾱ_{t−1} / (1 − ᾱ_t),
    ///   xtCoefficient = (1 − ᾱ_{t−1}) √α_t / (1 − ᾱ_t),
    ///   variance β̃_t = β_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t).
    /// At t = 0 (ᾱ_{−1} = 1) that is (1, 0, 0), written out so the last step returns x0 exactly.
    public func posterior(_ t: Int) -> (x0Coefficient: Double, xtCoefficient: Double, variance: Double) {
        guard t > 0 else { return (1, 0, 0) }
        let beta = betas[t], previous = alphaBar[t - 1], rest = 1 - alphaBar[t]
        return (beta * previous.squareRoot() / rest,
                (1 - previous) * alphas[t].squareRoot() / rest,
                beta * (1 - previous) / rest)
    }

    /// One ancestral DDPM step, in place: x holds x_t and receives
    /// x_{t−1} = posterior mean(x0̂, x_t) + √β̃_t · noise, where x0̂ is the model's x0
    /// prediction clipped to [−1, 1]. At t = 0 that is x0̂ itself (no noise).
    /// x, modelOutput, noise (N(0, 1) draws): [count].
    public func ancestralStep(_ x: UnsafeMutablePointer<Float>, modelOutput: UnsafePointer<Float>, t: Int,
                              noise: UnsafePointer<Float>, prediction: DDPMPrediction, count: Int) {
        let c = coefficients(t, prediction)
        let q = posterior(t)
        let sigma = q.variance.squareRoot()
        for i in 0..<count {
            let xt = Double(x[i])
            let x0 = min(max(c.x0FromXt * xt + c.x0FromOutput * Double(modelOutput[i]), -1), 1)
            x[i] = Float(q.x0Coefficient * x0 + q.xtCoefficient * xt + sigma * Double(noise[i]))
        }
    }

    /// N timesteps for an N-step sampler with "trailing" spacing (Lin et al. 2024, diffusers'
    /// `timestep_spacing="trailing"`): round(T, T − T/N, …, T/N) − 1, so the first step starts
    /// at t = T − 1, pure noise, and the last lands near t = 0. N in 1...T.
    public func trailingTimesteps(_ N: Int) -> [Int] {
        precondition((1...steps).contains(N), "trailingTimesteps: \(N) steps; expected 1...\(steps)")
        let ratio = Double(steps) / Double(N)
        return (0..<N).map { i in Int((Double(steps) - Double(i) * ratio).rounded(.toNearestOrEven)) - 1 }
    }

    /// One DDIM step (Song, Meng & Ermon 2021), in place, from level t to level `previous`
    /// (−1: to x0): with x0̂ the model's x0 clipped to [−1, 1] and ε̂ = (x_t − √ᾱ_t x0̂)/√(1 − ᾱ_t),
    ///   σ = η √((1 − ᾱ_s)/(1 − ᾱ_t)) √(1 − ᾱ_t/ᾱ_s),
    ///   x_s = √ᾱ_s x0̂ + √(1 − ᾱ_s − σ²) ε̂ + σ · noise.
    /// η = 0 is deterministic (noise is not read); η = 1 with s = t − 1 is the ancestral DDPM step.
    /// x, modelOutput, noise: [count]; noise may be nil when η = 0.
    public func ddimStep(_ x: UnsafeMutablePointer<Float>, modelOutput: UnsafePointer<Float>, t: Int, previous s: Int,
                         eta: Double, noise: UnsafePointer<Float>?, prediction: DDPMPrediction, count: Int) {
        precondition(s < t && s >= -1, "ddimStep: from \(t) to \(s); expected −1 ≤ s < t")
        precondition(eta == 0 || noise != nil, "ddimStep: η = \(eta) needs noise")
        let c = coefficients(t, prediction)
        let at = alphaBar[t], as_ = s >= 0 ? alphaBar[s] : 1
        let sigma = eta * ((1 - as_) / (1 - at)).squareRoot() * max(0, 1 - at / as_).squareRoot()
        let toEpsilon = 1 / (1 - at).squareRoot(), rootAt = at.squareRoot()
        let x0Weight = as_.squareRoot(), epsilonWeight = max(0, 1 - as_ - sigma * sigma).squareRoot()
        for i in 0..<count {
            let xt = Double(x[i])
            let x0 = min(max(c.x0FromXt * xt + c.x0FromOutput * Double(modelOutput[i]), -1), 1)
            let epsilon = (xt - rootAt * x0) * toEpsilon
            var next = x0Weight * x0 + epsilonWeight * epsilon
            if sigma > 0, let noise { next += sigma * Double(noise[i]) }
            x[i] = Float(next)
        }
    }

    /// x0 and ε as linear combinations of x_t and the model output (see `predictions`).
    private func coefficients(_ t: Int, _ prediction: DDPMPrediction)
        -> (x0FromXt: Double, x0FromOutput: Double, epsilonFromXt: Double, epsilonFromOutput: Double) {
        let a = alphaBar[t]
        switch prediction {
        case .epsilon:
            return ((1 / a).squareRoot(), -(1 / a - 1).squareRoot(), 0, 1)
        case .v:
            let root = a.squareRoot(), rest = (1 - a).squareRoot()
            return (root, -rest, rest, root)
        }
    }
}

/// The sinusoidal embedding of timestep t, in Float as the reference computes it.
/// out: [dimension]; dimension is even.
public func timestepEmbedding(_ t: Int, dimension: Int, into out: UnsafeMutablePointer<Float>) {
    sinusoidalEmbedding(Float(t), dimension: dimension, into: out)
}

/// half = dimension / 2, f_i = exp(−ln(10000) · i / half), out = [sin(value f_i)…, cos(value f_i)…].
/// out: [dimension]; dimension is even.
public func sinusoidalEmbedding(_ value: Float, dimension: Int, into out: UnsafeMutablePointer<Float>) {
    precondition(dimension > 0 && dimension % 2 == 0, "sinusoidalEmbedding: dimension \(dimension); expected even")
    let half = dimension / 2
    let scale = -Float(log(10000.0))
    for i in 0..<half {
        let angle = value * expf(scale * Float(i) / Float(half))
        out[i] = sinf(angle)
        out[half + i] = cosf(angle)
    }
}
