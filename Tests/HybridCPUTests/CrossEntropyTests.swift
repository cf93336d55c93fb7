// CrossEntropy: the weighted loss against the direct formula, dlogits against finite differences.

import Foundation
import HybridCore
import HybridCPU
import HybridTestSupport
import Testing

@Suite("CrossEntropy")
struct CrossEntropyTests {
    static func forward(_ logits: [Float], _ targets: [Int32], _ weights: [Float], V: Int, normalizer: LossNormalizer = .weights)
        -> (loss: Float, probs: [Float]) {
        let z = Buffer(logits), t = Buffer(targets), w = Buffer(weights)
        let loss = Buffer(repeating: Float.nan, count: 1), probs = Buffer(repeating: Float.nan, count: logits.count)
        withExtendedLifetime((z, t, w)) {
            CrossEntropy.forward(loss: loss.p, probs: probs.p, logits: z.p, targets: t.p, weights: w.p, normalizer: normalizer, N: targets.count, V: V)
        }
        return (loss.array[0], probs.array)
    }

    static func backward(_ logits: [Float], _ targets: [Int32], _ weights: [Float], dloss: Float, V: Int, normalizer: LossNormalizer = .weights,
                         into dlogits: [Float]) -> [Float] {
        let probs = Buffer(forward(logits, targets, weights, V: V).probs), t = Buffer(targets), w = Buffer(weights)
        let g = Buffer(dlogits)
        withExtendedLifetime((probs, t, w)) {
            CrossEntropy.backward(dlogits: g.p, probs: probs.p, targets: t.p, weights: w.p, normalizer: normalizer, dloss: dloss, N: targets.count, V: V)
        }
        return g.array
    }

    /// Σ_i w_i · (−log softmax(z_i)[t_i]) / max(Σ w, 1) (by rows: / max(N, 1)) in Double.
    static func reference(_ logits: [Float], _ targets: [Int32], _ weights: [Float], V: Int, normalizer: LossNormalizer = .weights) -> Double {
        var total = 0.0
        for (i, target) in targets.enumerated() where weights[i] != 0 {
            let row = logits[i * V ..< (i + 1) * V].map(Double.init)
            let logZ = log(row.reduce(0) { $0 + exp($1) })
            total += Double(weights[i]) * (logZ - row[Int(target)])
        }
        return total / (normalizer == .rows ? Double(max(targets.count, 1)) : max(weights.reduce(0.0) { $0 + Double($1) }, 1))
    }

    /// Weights all 1 (plain mean), fractional (Σw < 1, so W = 1), and with zero-weight padding
    /// rows whose target is −1.
    static func cases(N: Int, seed: UInt64) -> [(name: String, weights: [Float], targets: [Int32])] {
        var rng = SeededRNG(seed: seed)
        let targets = rng.int32s(count: N, below: 11)
        var padded = targets, masked = [Float](repeating: 1, count: N)
        for i in stride(from: 1, to: N, by: 3) { padded[i] = -1; masked[i] = 0 }
        return [("mean", .init(repeating: 1, count: N), targets),
                ("fractional", (0..<N).map { _ in 0.1 * abs(rng.uniform()) }, targets),
                ("padding", masked, padded)]
    }

    @Test("loss and probs match the direct formula", arguments: [(7, 11), (300, 11)])
    func reference(N: Int, V: Int) {
        var rng = SeededRNG(seed: 81)
        let logits = rng.normal(count: N * V, std: 3)
        for c in Self.cases(N: N, seed: 82) {
            let result = Self.forward(logits, c.targets, c.weights, V: V)
            let expected = Self.reference(logits, c.targets, c.weights, V: V)
            #expect(abs(Double(result.loss) - expected) <= 1e-6 * max(1, abs(expected)), "\(c.name) N=\(N)")
            for i in 0..<N {
                let row = logits[i * V ..< (i + 1) * V].map { exp(Double($0)) }
                let z = row.reduce(0, +)
                #expect(nmse(Array(result.probs[i * V ..< (i + 1) * V]), row.map { Float($0 / z) }) < 1e-12)
            }
        }
    }

    @Test("softmax is stable for huge logits")
    func stability() {
        let result = Self.forward([1000, 0, -1000, 90, 100, 80], [1, 0], [1, 1], V: 3)
        #expect(result.loss.isFinite)
        #expect(abs(result.loss - Float((1000.0 + 10 - log(1 + exp(-10.0) + exp(-20.0))) / 2)) < 1e-3)
    }

    @Test("small probabilities keep their relative accuracy down to e^-86")
    func smallProbabilities() {
        let V = 44
        let logits = (0..<V).map { -86 * Float($0) / Float(V - 1) }
        let probs = Self.forward(logits, [0], [1], V: V).probs
        let z = logits.reduce(0.0) { $0 + exp(Double($1)) }
        for (j, p) in probs.enumerated() {
            let expected = exp(Double(logits[j])) / z
            #expect(abs(Double(p) - expected) <= 1e-6 * expected, "p[\(j)] = \(p), expected \(expected)")
        }
    }

    @Test("backward matches finite differences and accumulates")
    func gradients() {
        let N = 7, V = 11, dloss: Float = 0.8
        var rng = SeededRNG(seed: 83)
        let logits = rng.normal(count: N * V, std: 2)
        for c in Self.cases(N: N, seed: 84) {
            let once = Self.backward(logits, c.targets, c.weights, dloss: dloss, V: V, into: .init(repeating: 0, count: N * V))
            let check = checkGradient(at: logits, analytic: once) {
                Double(Self.forward($0, c.targets, c.weights, V: V).loss) * Double(dloss)
            }
            #expect(check.normalizedError < 5e-3, "\(c.name): \(check)")
            let twice = Self.backward(logits, c.targets, c.weights, dloss: dloss, V: V, into: once)
            #expect(isDoubled(twice, once), "\(c.name)")
        }
    }

    /// Normalised by the rows (ABI 1.6's cross_entropy_per_row): ELBO-style weights (1/t on a
    /// window's masked rows, up to 20) against the direct formula, dlogits against finite
    /// differences.
    @Test("per-row normaliser: loss and backward")
    func perRow() {
        let N = 9, V = 11, dloss: Float = 0.6
        var rng = SeededRNG(seed: 85)
        let logits = rng.normal(count: N * V, std: 2)
        let targets = rng.int32s(count: N, below: V)
        let elbo: [Float] = (0..<N).map { $0 % 3 == 0 ? 0 : 1 / (0.05 + 0.9 * Float($0) / Float(N)) }
        let cases = [("elbo", elbo)] + Self.cases(N: N, seed: 86).filter { $0.name != "padding" }.map { ($0.name, $0.weights) }
        for (name, weights) in cases {
            let loss = Self.forward(logits, targets, weights, V: V, normalizer: .rows).loss
            let expected = Self.reference(logits, targets, weights, V: V, normalizer: .rows)
            #expect(abs(Double(loss) - expected) <= 1e-6 * max(1, abs(expected)), "\(name)")
            let analytic = Self.backward(logits, targets, weights, dloss: dloss, V: V, normalizer: .rows, into: .init(repeating: 0, count: N * V))
            let check = checkGradient(at: logits, analytic: analytic) {
                Double(Self.forward($0, targets, weights, V: V, normalizer: .rows).loss) * Double(dloss)
            }
            #expect(check.normalizedError < 5e-3, "\(name): \(check)")
        }
        // Fractional weights (Σ w < 1): the normaliser is N either way, not max(Σ w, 1).
        let small = [Float](repeating: 0.01, count: N)
        let byRows = Self.forward(logits, targets, small, V: V, normalizer: .rows).loss
        let byWeights = Self.forward(logits, targets, small, V: V).loss
        #expect(abs(byRows * Float(N) - byWeights) <= 1e-5 * abs(byWeights), "\(byRows) · \(N) vs \(byWeights)")
    }
}
