import Foundation
import HybridTestSupport
import HybridCPU
import HybridEval
import HybridTrain
import Testing

/// The Fréchet distance against its closed forms, and the digit classifier that supplies its
/// feature space.
@Suite struct FrechetTests {
    @Test("diagonal Gaussians: ‖μ₁ − μ₂‖² + Σ (√a − √b)²")
    func diagonal() throws {
        let n = 3
        let m1 = [0.0, 1, 2], m2 = [0.5, 1, -1]
        let a = [1.0, 4, 0.25], b = [9.0, 1, 0.25]
        func diag(_ v: [Double]) -> [Double] { (0..<n * n).map { $0 % (n + 1) == 0 ? v[$0 / (n + 1)] : 0 } }
        let d = try Frechet.distance(mean1: m1, covariance1: diag(a), mean2: m2, covariance2: diag(b), n: n)
        let expected = 0.25 + 0 + 9 + zip(a, b).reduce(0.0) { $0 + pow($1.0.squareRoot() - $1.1.squareRoot(), 2) }
        #expect(abs(d - expected) < 1e-9, "\(d) vs \(expected)")
    }

    @Test("Σ₂ = c² Σ₁ (full, correlated): (1 − c)² tr Σ₁; the same Gaussian: 0")
    func scaled() throws {
        let n = 4
        var rng = SeededRNG(seed: 3)
        let a = rng.normal(count: n * n).map(Double.init)
        var sigma = [Double](repeating: 0, count: n * n)   // A Aᵀ + I: symmetric positive definite
        for r in 0..<n { for c in 0..<n { sigma[r * n + c] = (0..<n).reduce(r == c ? 1.0 : 0) { $0 + a[r * n + $1] * a[c * n + $1] } } }
        let mean = [Double](repeating: 0.3, count: n), trace = (0..<n).reduce(0.0) { $0 + sigma[$1 * n + $1] }
        let c = 1.7
        let d = try Frechet.distance(mean1: mean, covariance1: sigma, mean2: mean, covariance2: sigma.map { $0 * c * c }, n: n)
        #expect(abs(d - (1 - c) * (1 - c) * trace) < 1e-8 * trace, "\(d)")
        #expect(try Frechet.distance(mean1: mean, covariance1: sigma, mean2: mean, covariance2: sigma, n: n) < 1e-9)
    }

    @Test("the real-vs-real floor: same-distribution samples read what random halves predict, scaled by 1/n₁ + 1/n₂")
    func floor() throws {
        // Correlated 8-D Gaussian: x = A z + z.
        let n = 8
        var rng = SeededRNG(seed: 11)
        let a = rng.normal(count: n * n)
        func draw(_ count: Int) -> [Float] {
            (0..<count).flatMap { _ -> [Float] in
                let z = rng.normal(count: n)
                return (0..<n).map { r in (0..<n).reduce(z[r]) { $0 + a[r * n + $1] * z[$1] } }
            }
        }
        // Halves of six independent sets of 600 (the set itself moves one set's figure by a
        // fifth or more), against the mean of 24 fresh draws of 1,200 vs 600.
        var halved = 0.0
        for _ in 0..<6 {
            let halves = try Frechet.halves(draw(600), count: 600, n: n, splits: 4)
            #expect(halves.sizes == (300, 300) && halves.spread > 0)
            halved += halves.mean / 6
        }
        var measured = 0.0
        for _ in 0..<24 { measured += try Frechet.distance(draw(1200), count: 1200, draw(600), count: 600, n: n) / 24 }
        let predicted = Frechet.floor(measured: halved, sizes: (300, 300), counts: (1200, 600))
        #expect(abs(predicted - halved * 0.375) < 1e-12)   // (1/1200 + 1/600) / (2/300)
        #expect(abs(measured / predicted - 1) < 0.2, "measured \(measured), predicted \(predicted) from halves reading \(halved)")
    }

    @Test("the digit classifier learns the bundled digits: held-out accuracy above 90% after a short run")
    func classifier() throws {
        let (train, validation) = try ImageSet.load(path: BundledData.digits).split(validationFraction: 0.1)
        let classifier = try DigitClassifier(training: train, classes: 10, steps: 400, backend: CPUBackend())
        let accuracy = try classifier.accuracy(on: validation)
        #expect(accuracy > 0.9, "held-out accuracy \(accuracy)")
        let judged = try classifier.judge(Array(validation.pixels[0..<(5 * 64)]), count: 5)
        #expect(judged.features.count == 5 * DigitClassifier.featureCount && judged.predictions.count == 5)
    }

    @Test("moments of samples: mean and unbiased covariance")
    func moments() {
        let x: [Float] = [1, 2, 3, 6, 5, 4]   // three vectors of two values
        let (mean, covariance) = Frechet.moments(x, count: 3, n: 2)
        #expect(mean == [3, 4])
        // var(1, 3, 5) = var(2, 6, 4) = 4; cov = ((−2)(−2) + 0·2 + 2·0) / 2 = 2.
        #expect(covariance == [4, 2, 2, 4])
    }
}
