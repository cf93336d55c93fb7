// The DDPM schedule and sampler step against closed forms, Bayes' rule and draws: a Float
// buffer of `n` values stands for one image (or many), each value an independent coordinate.
import Foundation
import HybridTestSupport
import PluginSupport
import Testing

@Suite("DDPM")
struct DDPMTests {
    @Test("linear ᾱ is the float64 cumprod of 1 − linspace(1e-4, 0.02, T)")
    func linearAlphaBar() {
        let schedule = DDPMSchedule(.linear)
        #expect(schedule.steps == 1000)
        #expect(schedule.betas.first == 1e-4 && schedule.betas.last == 0.02, "the ends are exact")
        var product = 1.0
        for t in 0..<1000 {
            let beta = 1e-4 + (0.02 - 1e-4) * Double(t) / 999
            product *= 1 - beta
            #expect(abs(schedule.betas[t] - beta) <= 1e-17, "β[\(t)]")
            #expect(abs(schedule.alphaBar[t] / product - 1) <= 1e-12, "ᾱ[\(t)] = \(schedule.alphaBar[t]); cumprod \(product)")
        }
        // The reference's float32 value at the last step, torch.cumprod(1 - betas)[-1].float().
        #expect(abs(schedule.alphaBar[999] - 4.035829e-05) < 1e-10)
    }

    @Test("cosine ᾱ falls from ≈ 1 to ≈ 0 and follows f(t)/f(0)")
    func cosineAlphaBar() {
        let schedule = DDPMSchedule(.cosine)
        let ab = schedule.alphaBar
        #expect(ab[0] > 0.9999 && ab[0] < 1, "ᾱ_0 = \(ab[0])")
        #expect(ab[999] < 1e-6, "ᾱ_{T−1} = \(ab[999])")
        for t in 1..<1000 { #expect(ab[t] < ab[t - 1], "ᾱ rises at \(t)") }
        #expect(schedule.betas.allSatisfy { $0 > 0 && $0 <= 0.999 })
        func f(_ t: Double) -> Double { pow(cos((t / 1000 + 0.008) / 1.008 * Double.pi / 2), 2) }
        for t in [0, 10, 250, 500, 900, 990] {   // before the β clip at the end
            #expect(abs(ab[t] - f(Double(t + 1)) / f(0)) < 1e-12, "ᾱ[\(t)]")
        }
    }

    @Test("x_t = √ᾱ x0 + √(1 − ᾱ) ε has mean √ᾱ x0 and variance 1 − ᾱ", arguments: DDPMSchedule.Kind.allCases, [0, 100, 500, 999])
    func forwardProcess(kind: DDPMSchedule.Kind, t: Int) {
        let schedule = DDPMSchedule(kind)
        let n = 40_000, x0Value: Float = 0.6
        var rng = SeededRNG(seed: 7)
        let x0 = [Float](repeating: x0Value, count: n), noise = rng.normal(count: n)
        var xt = [Float](repeating: 0, count: n)
        schedule.noised(x0, noise, t: t, into: &xt, count: n)
        let mean = xt.reduce(0.0) { $0 + Double($1) } / Double(n)
        let variance = xt.reduce(0.0) { $0 + pow(Double($1) - mean, 2) } / Double(n - 1)
        let ab = schedule.alphaBar[t]
        let meanError = 4 * ((1 - ab) / Double(n)).squareRoot()         // 4 standard errors
        let varianceError = 4 * (1 - ab) * (2 / Double(n)).squareRoot()
        #expect(abs(mean - ab.squareRoot() * Double(x0Value)) < meanError, "mean \(mean) at t = \(t)")
        #expect(abs(variance - (1 - ab)) < varianceError, "variance \(variance) at t = \(t)")
    }

    @Test("q(x_{t−1} | x_t, x0) is Bayes' rule on q(x_{t−1} | x0) and q(x_t | x_{t−1})", arguments: DDPMSchedule.Kind.allCases)
    func posterior(kind: DDPMSchedule.Kind) {
        let schedule = DDPMSchedule(kind)
        for t in [1, 2, 10, 100, 500, 998, 999] {
            // Prior N(√ᾱ_{t−1} x0, 1 − ᾱ_{t−1}), likelihood x_t ~ N(√α_t x_{t−1}, β_t): the
            // posterior's precision is the sum of precisions, its mean the precision-weighted sum.
            let previous = schedule.alphaBar[t - 1], alpha = schedule.alphas[t], beta = schedule.betas[t]
            let variance = 1 / (1 / (1 - previous) + alpha / beta)
            let x0Coefficient = variance * previous.squareRoot() / (1 - previous)
            let xtCoefficient = variance * alpha.squareRoot() / beta
            let q = schedule.posterior(t)
            #expect(abs(q.variance / variance - 1) < 1e-9, "β̃ at t = \(t)")
            #expect(abs(q.x0Coefficient / x0Coefficient - 1) < 1e-9, "x0 coefficient at t = \(t)")
            #expect(abs(q.xtCoefficient / xtCoefficient - 1) < 1e-9, "x_t coefficient at t = \(t)")
            // Consistency: averaging the posterior mean over x_t | x0 gives E[x_{t−1} | x0].
            let meanOfMean = q.x0Coefficient + q.xtCoefficient * schedule.alphaBar[t].squareRoot()
            #expect(abs(meanOfMean - previous.squareRoot()) < 1e-12, "E[mean] at t = \(t)")
        }
        let q0 = schedule.posterior(0)
        #expect(q0.x0Coefficient == 1 && q0.xtCoefficient == 0 && q0.variance == 0, "t = 0 is x0 itself")
    }

    @Test("ε ↔ v ↔ x0 conversions round-trip", arguments: DDPMSchedule.Kind.allCases, [0, 1, 300, 700, 999])
    func conversions(kind: DDPMSchedule.Kind, t: Int) {
        let schedule = DDPMSchedule(kind)
        let n = 1000
        var rng = SeededRNG(seed: 11)
        let x0 = rng.uniform(count: n), epsilon = rng.normal(count: n)
        var xt = [Float](repeating: 0, count: n), v = xt, x0Hat = xt, epsilonHat = xt
        schedule.noised(x0, epsilon, t: t, into: &xt, count: n)
        schedule.vTarget(x0, epsilon, t: t, into: &v, count: n)

        schedule.predictions(from: v, at: xt, t: t, prediction: .v, x0: &x0Hat, epsilon: &epsilonHat, count: n)
        #expect(maxAbsDifference(x0Hat, x0) < 2e-6, "x0 from v at t = \(t)")
        #expect(maxAbsDifference(epsilonHat, epsilon) < 2e-6, "ε from v at t = \(t)")

        // From ε, x0 = (x_t − √(1 − ᾱ) ε)/√ᾱ magnifies x_t's Float rounding by 1/√ᾱ.
        schedule.predictions(from: epsilon, at: xt, t: t, prediction: .epsilon, x0: &x0Hat, epsilon: &epsilonHat, count: n)
        let tolerance = 2e-6 + 1e-6 / schedule.alphaBar[t].squareRoot()
        #expect(maxAbsDifference(x0Hat, x0) < tolerance, "x0 from ε at t = \(t)")
        #expect(epsilonHat == epsilon, "ε from ε is the output itself")

        // v from the recovered (x0, ε) is the v we started with.
        var vAgain = xt
        schedule.vTarget(x0Hat, epsilonHat, t: t, into: &vAgain, count: n)
        #expect(maxAbsDifference(vAgain, v) < tolerance, "v again at t = \(t)")
    }

    @Test("an ancestral step on the true prediction moves toward x0", arguments: DDPMPrediction.allCases, [1, 10, 100, 200])
    func ancestralStepApproaches(prediction: DDPMPrediction, t: Int) {
        let schedule = DDPMSchedule(.linear)
        let n = 16_384
        var rng = SeededRNG(seed: 3)
        let x0 = rng.uniform(count: n, scale: 0.9), epsilon = rng.normal(count: n), z = rng.normal(count: n)
        var xt = [Float](repeating: 0, count: n), output = xt
        schedule.noised(x0, epsilon, t: t, into: &xt, count: n)
        switch prediction {
        case .epsilon: output = epsilon
        case .v: schedule.vTarget(x0, epsilon, t: t, into: &output, count: n)
        }
        var x = xt
        schedule.ancestralStep(&x, modelOutput: output, t: t, noise: z, prediction: prediction, count: n)
        let before = distance(xt, x0), after = distance(x, x0)
        #expect(after < before, "‖x_{t−1} − x0‖ = \(after), ‖x_t − x0‖ = \(before) at t = \(t)")
        // Its expected size: x_{t−1} | x0 ~ N(√ᾱ_{t−1} x0, 1 − ᾱ_{t−1}).
        let previous = schedule.alphaBar[t - 1]
        let meanSquare = x0.reduce(0.0) { $0 + Double($1 * $1) } / Double(n)
        let expected = (pow(1 - previous.squareRoot(), 2) * meanSquare + (1 - previous)).squareRoot()
        #expect(abs(after / Double(n).squareRoot() / expected - 1) < 0.05, "RMS distance at t = \(t)")
    }

    @Test("the step at t = 0 returns the clipped x0 prediction exactly", arguments: DDPMSchedule.Kind.allCases, DDPMPrediction.allCases)
    func lastStep(kind: DDPMSchedule.Kind, prediction: DDPMPrediction) {
        let schedule = DDPMSchedule(kind)
        let n = 1000
        var rng = SeededRNG(seed: 5)
        let xt = rng.normal(count: n), output = rng.normal(count: n, std: 3), z = rng.normal(count: n)
        var x0Hat = [Float](repeating: 0, count: n), epsilonHat = x0Hat
        schedule.predictions(from: output, at: xt, t: 0, prediction: prediction, x0: &x0Hat, epsilon: &epsilonHat, count: n)
        #expect(x0Hat.contains { abs($0) > 1 }, "some predictions need the clip")
        var x = xt
        schedule.ancestralStep(&x, modelOutput: output, t: 0, noise: z, prediction: prediction, count: n)
        #expect(x == x0Hat.map { min(max($0, -1), 1) })
    }

    @Test("trailing timesteps start at pure noise and space evenly")
    func trailing() {
        let schedule = DDPMSchedule(.linear)
        #expect(schedule.trailingTimesteps(4) == [999, 749, 499, 249])
        #expect(schedule.trailingTimesteps(1) == [999])
        #expect(schedule.trailingTimesteps(3) == [999, 666, 332])    // round(1000 − 333.3 i) − 1
        #expect(schedule.trailingTimesteps(1000) == Array((0..<1000).reversed()))
    }

    @Test("DDIM with η = 1 one level down is the ancestral DDPM step", arguments: DDPMSchedule.Kind.allCases, DDPMPrediction.allCases)
    func ddimReducesToDDPM(kind: DDPMSchedule.Kind, prediction: DDPMPrediction) {
        let schedule = DDPMSchedule(kind)
        let n = 2000
        var rng = SeededRNG(seed: 9)
        let xt = rng.normal(count: n), output = rng.normal(count: n, std: 2), z = rng.normal(count: n)
        for t in [1, 5, 100, 500, 998] {
            var ddpm = xt, ddim = xt
            schedule.ancestralStep(&ddpm, modelOutput: output, t: t, noise: z, prediction: prediction, count: n)
            schedule.ddimStep(&ddim, modelOutput: output, t: t, previous: t - 1, eta: 1, noise: z, prediction: prediction, count: n)
            #expect(maxAbsDifference(ddim, ddpm) < 2e-5, "t = \(t)")
        }
    }

    @Test("DDIM with η = 0 is deterministic and, on exact predictions, follows x0's own path to x0", arguments: DDPMPrediction.allCases)
    func ddimDeterministic(prediction: DDPMPrediction) {
        // Linear: ε-prediction's x0 at the first level magnifies x_t's Float rounding by
        // 1/√ᾱ_{T−1} (157 here, thousands under cosine), the 1e-4 budget below.
        let schedule = DDPMSchedule(.linear)
        let n = 1000
        var rng = SeededRNG(seed: 13)
        let x0 = rng.uniform(count: n, scale: 0.9), epsilon = rng.normal(count: n)
        let steps = schedule.trailingTimesteps(8)
        var x = [Float](repeating: 0, count: n), output = x
        schedule.noised(x0, epsilon, t: steps[0], into: &x, count: n)
        for (i, t) in steps.enumerated() {
            // The exact model: the ε (or v) that x (on x0's path with this ε) was made of.
            switch prediction {
            case .epsilon: output = epsilon
            case .v: schedule.vTarget(x0, epsilon, t: t, into: &output, count: n)
            }
            let s = i + 1 < steps.count ? steps[i + 1] : -1
            var again = x
            schedule.ddimStep(&x, modelOutput: output, t: t, previous: s, eta: 0, noise: nil, prediction: prediction, count: n)
            schedule.ddimStep(&again, modelOutput: output, t: t, previous: s, eta: 0, noise: nil, prediction: prediction, count: n)
            #expect(x == again, "deterministic at t = \(t)")
            if s >= 0 {
                var onPath = x
                schedule.noised(x0, epsilon, t: s, into: &onPath, count: n)
                #expect(maxAbsDifference(x, onPath) < 1e-4, "x_\(s) is √ᾱ x0 + √(1 − ᾱ) ε")
            }
        }
        #expect(maxAbsDifference(x, x0) < 1e-4, "lands on x0")
    }

    @Test("the timestep embedding is [sin(t f_i)…, cos(t f_i)…] with f_i = 10000^(−i/half)")
    func timestepEmbeddingLayout() {
        let d = 16, half = 8
        var out = [Float](repeating: .nan, count: d)
        timestepEmbedding(0, dimension: d, into: &out)
        #expect(out == [Float](repeating: 0, count: half) + [Float](repeating: 1, count: half))
        for t in [1, 37, 999] {
            timestepEmbedding(t, dimension: d, into: &out)
            let expected = (0..<d).map { k -> Float in
                let angle = Double(t) * exp(-log(10000.0) * Double(k % half) / Double(half))
                return Float(k < half ? sin(angle) : cos(angle))
            }
            // Float angles up to 999 rad carry ~1e-4 of rounding, as the reference's do.
            #expect(maxAbsDifference(out, expected) < 3e-4, "t = \(t)")
        }
    }

    private func distance(_ a: [Float], _ b: [Float]) -> Double {
        zip(a, b).reduce(0.0) { $0 + pow(Double($1.0) - Double($1.1), 2) }.squareRoot()
    }
}
