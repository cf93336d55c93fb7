// MSE: the weighted loss against the direct formula, dprediction and dtarget against finite
// differences, accumulation.

import Foundation
import HybridCPU
import HybridTestSupport
import Testing

@Suite("MSE")
struct MSETests {
    static func forward(_ prediction: [Float], _ target: [Float], _ weights: [Float], F: Int) -> Float {
        let p = Buffer(prediction), t = Buffer(target), w = Buffer(weights)
        let loss = Buffer(repeating: Float.nan, count: 1)
        withExtendedLifetime((p, t, w)) {
            MSE.forward(loss: loss.p, prediction: p.p, target: t.p, weights: w.p, N: weights.count, F: F)
        }
        return loss.array[0]
    }

    /// Runs the backward into copies of `dprediction` and `dtarget` (nil: not requested).
    static func backward(_ prediction: [Float], _ target: [Float], _ weights: [Float], dloss: Float, F: Int,
                         into dprediction: [Float]?, _ dtarget: [Float]?) -> (dprediction: [Float]?, dtarget: [Float]?) {
        let p = Buffer(prediction), t = Buffer(target), w = Buffer(weights)
        let dp = dprediction.map { Buffer($0) }, dt = dtarget.map { Buffer($0) }
        withExtendedLifetime((p, t, w)) {
            MSE.backward(dprediction: dp?.p, dtarget: dt?.p, prediction: p.p, target: t.p, weights: w.p,
                         dloss: dloss, N: weights.count, F: F)
        }
        return (dp?.array, dt?.array)
    }

    /// Σ_i w_i · (1/F) Σ_f (p_if − t_if)² / max(Σ w, 1) in Double.
    static func reference(_ prediction: [Float], _ target: [Float], _ weights: [Float], F: Int) -> Double {
        var total = 0.0
        for (i, w) in weights.enumerated() where w != 0 {
            var row = 0.0
            for f in 0..<F {
                let d = Double(prediction[i * F + f]) - Double(target[i * F + f])
                row += d * d
            }
            total += Double(w) * row / Double(F)
        }
        return total / max(weights.reduce(0.0) { $0 + Double($1) }, 1)
    }

    /// Weights all 1 (plain mean), fractional (Σw < 1, so W = 1), and zero-weight padding
    /// rows whose target is NaN (never read).
    static func cases(N: Int, F: Int, seed: UInt64) -> [(name: String, weights: [Float], target: [Float])] {
        var rng = SeededRNG(seed: seed)
        let target = rng.normal(count: N * F)
        var padded = target, masked = [Float](repeating: 1.5, count: N)
        for i in stride(from: 1, to: N, by: 3) {
            masked[i] = 0
            for f in 0..<F { padded[i * F + f] = .nan }
        }
        return [("mean", .init(repeating: 1, count: N), target),
                ("fractional", (0..<N).map { _ in 0.1 * abs(rng.uniform()) }, target),
                ("padding", masked, padded)]
    }

    @Test("loss matches the direct formula", arguments: [(7, 5), (1, 1), (300, 37)])
    func reference(N: Int, F: Int) {
        var rng = SeededRNG(seed: 91)
        let prediction = rng.normal(count: N * F, std: 2)
        for c in Self.cases(N: N, F: F, seed: 92) {
            let loss = Self.forward(prediction, c.target, c.weights, F: F)
            let expected = Self.reference(prediction, c.target, c.weights, F: F)
            #expect(abs(Double(loss) - expected) <= 1e-6 * max(1, abs(expected)), "\(c.name) N=\(N) F=\(F): \(loss) vs \(expected)")
        }
    }

    @Test("with all weights 1 the loss is the mean over every element")
    func plainMean() {
        let loss = Self.forward([1, 2, 3, 4, 5, 6], [0, 0, 0, 0, 0, 1], [1, 1], F: 3)
        #expect(loss == Float(1 + 4 + 9 + 16 + 25 + 25) / 6)
    }

    @Test("backward matches finite differences for prediction and target, and accumulates")
    func gradients() throws {
        let N = 7, F = 5, dloss: Float = 0.8
        var rng = SeededRNG(seed: 93)
        let prediction = rng.normal(count: N * F, std: 2)
        let zeros = [Float](repeating: 0, count: N * F)
        for c in Self.cases(N: N, F: F, seed: 94) {
            let once = Self.backward(prediction, c.target, c.weights, dloss: dloss, F: F, into: zeros, zeros)
            let dp = try #require(once.dprediction), dt = try #require(once.dtarget)
            let checkP = checkGradient(at: prediction, analytic: dp) {
                Double(Self.forward($0, c.target, c.weights, F: F)) * Double(dloss)
            }
            #expect(checkP.normalizedError < 5e-3, "\(c.name) prediction: \(checkP)")
            // Finite differences through the target only where it is read (not NaN padding).
            let live = c.target.indices.filter { !c.target[$0].isNaN }
            let checkT = checkGradient(at: c.target, analytic: dt, indices: live) {
                Double(Self.forward(prediction, $0, c.weights, F: F)) * Double(dloss)
            }
            #expect(checkT.normalizedError < 5e-3, "\(c.name) target: \(checkT)")
            // Zero-weight rows get no gradient.
            for i in 0..<N where c.weights[i] == 0 {
                #expect(dp[i * F ..< (i + 1) * F].allSatisfy { $0 == 0 } && dt[i * F ..< (i + 1) * F].allSatisfy { $0 == 0 },
                        "\(c.name): row \(i) has weight 0 but received a gradient")
            }
            let twice = Self.backward(prediction, c.target, c.weights, dloss: dloss, F: F, into: dp, dt)
            #expect(isDoubled(twice.dprediction, dp), "\(c.name) prediction")
            #expect(isDoubled(twice.dtarget, dt), "\(c.name) target")
        }
    }

    @Test("a nil gradient is skipped; the other is unchanged")
    func optionalGradients() {
        let N = 7, F = 5
        var rng = SeededRNG(seed: 95)
        let prediction = rng.normal(count: N * F), target = rng.normal(count: N * F)
        let weights = (0..<N).map { Float($0 % 3) }
        let zeros = [Float](repeating: 0, count: N * F)
        let both = Self.backward(prediction, target, weights, dloss: 1, F: F, into: zeros, zeros)
        let onlyP = Self.backward(prediction, target, weights, dloss: 1, F: F, into: zeros, nil)
        let onlyT = Self.backward(prediction, target, weights, dloss: 1, F: F, into: nil, zeros)
        #expect(onlyP.dtarget == nil && onlyP.dprediction == both.dprediction)
        #expect(onlyT.dprediction == nil && onlyT.dtarget == both.dtarget)
        #expect(both.dtarget == both.dprediction.map { $0.map { -$0 } }, "dtarget is −dprediction")
    }
}
