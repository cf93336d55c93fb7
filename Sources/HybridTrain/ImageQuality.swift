import Foundation
import HybridCore

/// How close drawn images are to the real ones (`hybrid bench sample`, `hybrid eval`): the
/// Fréchet distance to every real image in the feature space of a digit classifier trained on
/// the spot on the training split (its held-out accuracy reported) and in pixel space; how
/// often the classifier agrees with the labels asked for, or the entropy of the classes it
/// predicts; and, as the yardstick, the same distances between two disjoint random halves of
/// the real images (what "perfect" reads at this sample size).
public final class ImageQuality {
    public let classes: Int
    public let heldOutAccuracy: Double
    /// Real-vs-real: the two halves' sizes and distances.
    public let baseline: (sizes: (Int, Int), features: Double, pixels: Double)
    private let classifier: DigitClassifier
    private let real: ImageSet
    private let realFeatures: [Float]

    /// `classifierSteps`: the classifier's training steps (fewer: faster, coarser features).
    public init(train: ImageSet, validation: ImageSet, classifierSteps: Int = 3000, backend: Backend) throws {
        real = ImageSet(pixels: train.pixels + validation.pixels, labels: train.labels + validation.labels, side: train.side)
        classes = Int(real.labels.max() ?? 0) + 1
        classifier = try DigitClassifier(training: train, classes: classes, steps: classifierSteps, backend: backend)
        heldOutAccuracy = try classifier.accuracy(on: validation)
        realFeatures = try classifier.judge(real.pixels, count: real.count).features
        // Random halves: the file's order follows its writers, so its own halves would measure
        // a shift between people, not what sampling noise alone gives.
        let F = DigitClassifier.featureCount, n = real.side * real.side
        var order = Array(0..<real.count), stream = RandomStream(seed: 1, stream: RandomStream.streamID("real-halves"))
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, stream.below(i + 1)) }
        let halves = [order[..<(real.count / 2)], order[(real.count / 2)...]]
        func pick(_ values: [Float], _ width: Int, _ indices: ArraySlice<Int>) -> [Float] {
            indices.flatMap { values[($0 * width)..<(($0 + 1) * width)] }
        }
        baseline = ((halves[0].count, halves[1].count),
                    try Frechet.distance(pick(realFeatures, F, halves[0]), count: halves[0].count,
                                         pick(realFeatures, F, halves[1]), count: halves[1].count, n: F),
                    try Frechet.distance(pick(real.pixels, n, halves[0]), count: halves[0].count,
                                         pick(real.pixels, n, halves[1]), count: halves[1].count, n: n))
    }

    public struct Score: Sendable {
        public var features: Double
        public var pixels: Double
        /// With labels: the fraction the classifier labels as asked.
        public var agreement: Double?
        /// The entropy (nats) of the predicted classes' histogram; log(classes) when even.
        public var entropy: Double
    }

    /// Scores `count` drawn images (pixels in [-1, 1]); `labels` the classes asked for, if any.
    public func score(_ pixels: [Float], count: Int, labels: [Int32]?) throws -> Score {
        let judged = try classifier.judge(pixels, count: count)
        let n = real.side * real.side
        var histogram = [Double](repeating: 0, count: classes)
        for p in judged.predictions { histogram[p] += 1 }
        let entropy = -histogram.reduce(0.0) { $1 > 0 ? $0 + $1 / Double(count) * log($1 / Double(count)) : $0 }
        return Score(
            features: try Frechet.distance(judged.features, count: count, realFeatures, count: real.count, n: DigitClassifier.featureCount),
            pixels: try Frechet.distance(pixels, count: count, real.pixels, count: real.count, n: n),
            agreement: labels.map { labels in Double(zip(judged.predictions, labels).filter { $0 == Int($1) }.count) / Double(count) },
            entropy: entropy)
    }
}
