import Foundation
import HybridTestSupport
import HybridCPU
import HybridEval
import HybridTrain
import Testing

/// Nearest-image distances against a plain double loop, and the near-copy figure on images
/// whose answer is known: the training digits themselves, and the held-out ones.
@Suite struct NearestImagesTests {
    @Test("nearest distances match a direct search, across the query blocks")
    func direct() {
        let n = 16, count = 300, referenceCount = 70
        var rng = SeededRNG(seed: 5)
        let queries = rng.normal(count: count * n), references = rng.normal(count: referenceCount * n)
        let nearest = NearestImages.distances(queries, count: count, to: references, count: referenceCount, n: n)
        for i in 0..<count {
            var best = Double.infinity
            for j in 0..<referenceCount {
                best = min(best, (0..<n).reduce(0.0) { $0 + pow(Double(queries[i * n + $1] - references[j * n + $1]), 2) })
            }
            #expect(abs(nearest[i] - best.squareRoot()) < 1e-4 * best.squareRoot(), "query \(i): \(nearest[i]) vs \(best.squareRoot())")
        }
    }

    @Test("near copies: the training digits read 1, the held-out digits the 5% the radius is drawn at")
    func nearCopies() throws {
        let (train, validation) = try ImageSet.load(path: BundledData.digits).split(validationFraction: 0.1)
        let quality = try ImageQuality(train: train, validation: validation, source: BundledData.digits, classifierSteps: 50, splits: 2, backend: CPUBackend())
        #expect(quality.copyRadius > 0.5, "radius \(quality.copyRadius)")
        let copies = try quality.score(Array(train.pixels[0..<(200 * 64)]), count: 200, labels: nil)
        #expect(copies.nearCopies == 1)
        let heldOut = try quality.score(validation.pixels, count: validation.count, labels: nil)
        #expect(heldOut.nearCopies == Double(validation.count / 20) / Double(validation.count), "\(heldOut.nearCopies)")
    }

    @Test("too few images to measure with is refused, naming the file")
    func tooFew() throws {
        let all = try ImageSet.load(path: BundledData.digits)
        let (train, validation) = ImageSet(pixels: Array(all.pixels[0..<(3 * 64)]), labels: Array(all.labels[0..<3]), side: 8)
            .split(validationFraction: 0.1)
        #expect(train.count == 2 && validation.count == 1)
        do {
            _ = try ImageQuality(train: train, validation: validation, source: "three.csv", classifierSteps: 5, backend: CPUBackend())
            Issue.record("three images were measured with")
        } catch {
            #expect("\(error)".hasPrefix("three.csv: splits into 2 training and 1 held-out images") && "\(error)".contains("at least 4"), "\(error)")
        }
    }
}
