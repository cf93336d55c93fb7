import HybridTrain
import Foundation
import HybridCore

/// How close drawn images are to the real ones (`hybrid bench sample`, `hybrid eval`): the
/// Fréchet distance to every real image in the feature space of a digit classifier trained on
/// the spot on the training split (its held-out accuracy reported) and in pixel space; how
/// often the classifier agrees with the labels asked for, or the entropy of the classes it
/// predicts; how many drawn images sit nearer a training image than new real ones do; and, as
/// the yardstick, the same distances between disjoint random halves of the real images, and
/// what they imply a perfect sampler reads at a given number of images.
public final class ImageQuality {
    public let classes: Int
    public let heldOutAccuracy: Double
    /// Real-vs-real over `splits` random halvings: the halves' sizes, and each distance's mean
    /// and spread.
    public let baseline: (sizes: (Int, Int), splits: Int, features: (mean: Double, spread: Double), pixels: (mean: Double, spread: Double))
    /// The distance from a held-out image to its nearest training image that only 5% of the
    /// held-out images come within: nearer than that, a drawn image is a near copy.
    public let copyRadius: Double
    private let classifier: DigitClassifier
    private let real: ImageSet
    private let train: ImageSet
    private let realFeatures: [Float]

    /// `source`: the images' file, for errors; `classifierSteps`: the classifier's training
    /// steps (fewer: faster, coarser features).
    public convenience init(train: ImageSet, validation: ImageSet, source: String, classifierSteps: Int = 3000, splits: Int = 8, backend: Backend) throws {
        guard train.count >= 2, validation.count >= 1, train.count + validation.count >= 4 else {
            throw TrainError("\(source): splits into \(train.count) training and \(validation.count) held-out images; measuring drawn "
                             + "images needs at least 4, 2 of them for training and 1 held out (a classifier, two real halves, a near-copy radius)")
        }
        guard train.channels == 1 else {
            throw TrainError("\(source): drawn images are measured (a classifier's features, Fréchet distances, near copies) on grey "
                             + "images so far; these have \(train.channels) channels")
        }
        let heldOut = NearestImages.distances(validation.pixels, count: validation.count, to: train.pixels, count: train.count,
                                              n: train.side * train.side).sorted()
        let classes = Int(max(train.labels.max() ?? 0, validation.labels.max() ?? 0)) + 1
        try self.init(classifier: DigitClassifier(training: train, classes: classes, steps: classifierSteps, backend: backend), classes: classes,
                      train: train, copyRadius: heldOut[heldOut.count / 20], heldOut: validation,
                      real: ImageSet(pixels: train.pixels + validation.pixels, labels: train.labels + validation.labels, side: train.side),
                      splits: splits)
    }

    private init(classifier: DigitClassifier, classes: Int, train: ImageSet, copyRadius: Double, heldOut: ImageSet, real: ImageSet, splits: Int) throws {
        (self.classifier, self.classes, self.train, self.copyRadius, self.real) = (classifier, classes, train, copyRadius, real)
        heldOutAccuracy = try classifier.accuracy(on: heldOut)
        realFeatures = try classifier.judge(real.pixels, count: real.count).features
        let features = try Frechet.halves(realFeatures, count: real.count, n: DigitClassifier.featureCount, splits: splits)
        let pixels = try Frechet.halves(real.pixels, count: real.count, n: real.side * real.side, splits: splits)
        baseline = (features.sizes, splits, (features.mean, features.spread), (pixels.mean, pixels.spread))
    }

    /// The same classifier and near-copy radius, measuring against `unseen` alone: images that
    /// neither trained the model nor the classifier, such as faces kept out of training. Its
    /// accuracy, its real-vs-real yardstick and the Fréchet distances are then `unseen`'s, its
    /// labels already those of the training split's classes. `source`: its file, for errors.
    public func against(_ unseen: ImageSet, source: String, splits: Int = 8) throws -> ImageQuality {
        guard unseen.count >= 2, unseen.side == train.side, unseen.channels == train.channels else {
            throw TrainError("\(source): \(unseen.count) image\(unseen.count == 1 ? "" : "s") of \(unseen.side)×\(unseen.side)×\(unseen.channels); "
                             + "measuring against it needs at least 2 of the training images' \(train.side)×\(train.side)×\(train.channels)")
        }
        if let outside = unseen.labels.first(where: { Int($0) >= classes }) {
            throw TrainError("\(source): holds class \(outside), beyond the \(classes) classes the classifier was trained on")
        }
        return try ImageQuality(classifier: classifier, classes: classes, train: train, copyRadius: copyRadius, heldOut: unseen, real: unseen, splits: splits)
    }

    /// How many real images every distance compares with.
    public var realCount: Int { real.count }

    /// What a sampler that drew exactly the real digits would read, on average, with `count`
    /// images against all the real ones: the real-vs-real means scaled to those sizes.
    public func perfect(count: Int) -> (features: Double, pixels: Double) {
        (Frechet.floor(measured: baseline.features.mean, sizes: baseline.sizes, counts: (count, real.count)),
         Frechet.floor(measured: baseline.pixels.mean, sizes: baseline.sizes, counts: (count, real.count)))
    }

    public struct Score: Sendable {
        public var features: Double
        public var pixels: Double
        /// With labels: for each image, whether the classifier labels it as asked.
        public var agreed: [Bool]?
        /// With labels: the fraction the classifier labels as asked.
        public var agreement: Double? { agreed.map { Double($0.filter { $0 }.count) / Double(max($0.count, 1)) } }
        /// The entropy (nats) of the predicted classes' histogram; log(classes) when even.
        public var entropy: Double
        /// The fraction of images within `copyRadius` of a training image: about 0.05 for new
        /// digits like the real ones, near 1 for copies (blurred, averaged strokes also sit
        /// near many digits and read above 0.05).
        public var nearCopies: Double
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
            agreed: labels.map { labels in zip(judged.predictions, labels).map { $0 == Int($1) } },
            entropy: entropy,
            nearCopies: Double(NearestImages.distances(pixels, count: count, to: train.pixels, count: train.count, n: n)
                .filter { $0 < copyRadius }.count) / Double(count))
    }
}
