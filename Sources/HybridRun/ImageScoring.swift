import Foundation
import CHybridPlugin
import HybridEval
import HybridPlugins
import HybridRecipe
import HybridTrain

/// `hybrid eval`'s image half: images drawn with each image objective of a run and scored
/// against the real ones (Fréchet distances in a classifier's features and in pixels, near
/// copies, agreement with the asked labels or captions), beside the real-vs-real yardstick.
public struct ImageScoring {
    let images: Int
    let imageSteps: Int
    let classifierSteps: Int
    let guidance: Float
    let unseenImages: String?
    let say: (String) -> Void

    /// `images` drawn per objective with DDIM `steps`; `unseenImages`: a second reference
    /// (a folder or digits file) neither the model nor the classifier trained on; `log` gets
    /// each result line.
    public init(images: Int, steps: Int, classifierSteps: Int, guidance: Float, unseenImages: String?, log: @escaping (String) -> Void) {
        (self.images, imageSteps, self.classifierSteps, self.guidance, self.unseenImages, say) = (images, steps, classifierSteps, guidance, unseenImages, log)
    }

    /// The metrics by objective name (none where the data has no images or no objective draws).
    public func score(_ run: Run) throws -> [String: [String: Double]] {
        guard let (train, validation) = run.data.images else { return [:] }
        var record: [String: [String: Double]] = [:]
        try scoreImages(setup: run.setup, recipe: run.recipe, source: run.file, train: train, validation: validation, into: &record)
        return record
    }

    /// Draws `images` with each image objective (DDIM, `imageSteps`; one label per image,
    /// cycling through the classes, where the objective was trained with labels, or through the
    /// held-out captions) and adds their Fréchet distances to the real images, beside the
    /// real-vs-real yardstick; then the same against `unseenImages`, for its captions.
    private func scoreImages(setup: RunSetup, recipe: Recipe, source: String, train: ImageSet, validation: ImageSet, into record: inout [String: [String: Double]]) throws {
        let drawing = zip(recipe.objectives, setup.sessions).filter { $0.1.instance.plugin.canDrawImages }
        guard !drawing.isEmpty else { return }
        let quality = try ImageQuality(train: train, validation: validation, source: recipe.data.images?.absolute ?? source,
                                       classifierSteps: classifierSteps, backend: setup.backend)
        say(String(format: "images: a classifier of the data's labels trained on the training split (held-out accuracy %.1f%%); ",
                   quality.heldOutAccuracy * 100) + yardstick(quality))
        var references = [(quality: quality, images: validation, captions: "the held-out captions", key: "")]
        if let path = unseenImages {
            let unseen = try TrainingData.loadImages(path, recipe.data).labelled(as: train.classes, source: path)
            let against = try quality.against(unseen, source: path)
            say(String(format: "unseen images %@ (%d): the classifier reads them at %.1f%%; ", path, unseen.count, against.heldOutAccuracy * 100)
                + yardstick(against))
            references.append((against, unseen, "the captions of \(path)", "unseen/"))
        }
        for reference in references {
            for (config, session) in drawing {
                try draw(config, session, setup: setup, recipe: recipe, side: train.side, quality: reference.quality, against: reference.images,
                         captions: reference.captions, key: reference.key, into: &record[config.name, default: [:]])
            }
        }
    }

    /// The real-vs-real distances and what a perfect sampler of `images` would read.
    private func yardstick(_ quality: ImageQuality) -> String {
        let perfect = quality.perfect(count: images)
        return String(format: "real vs real (%d/%d, mean of %d random halvings): Fréchet %.3f ± %.3f (features), %.3f ± %.3f (pixels); "
                      + "a perfect sampler would read about %.3f (features), %.3f (pixels) with %d images", quality.baseline.sizes.0,
                      quality.baseline.sizes.1, quality.baseline.splits, quality.baseline.features.mean, quality.baseline.features.spread,
                      quality.baseline.pixels.mean, quality.baseline.pixels.spread, perfect.features, perfect.pixels, images)
    }

    /// Draws `images` for `reference`'s labels or captions and scores them against it; metrics
    /// go under their names prefixed by `key`.
    private func draw(_ config: ObjectiveConfig, _ session: ObjectiveSession, setup: RunSetup, recipe: Recipe, side: Int, quality: ImageQuality,
                      against reference: ImageSet, captions: String, key: String, into metrics: inout [String: Double]) throws {
        let conditions = ScoringConditions(objective: config, count: images, validation: reference)
        let sampler = try ImageSampler(instance: session.instance, parameters: setup.parameters, backbone: setup.backbone,
                                       count: images, seqLen: recipe.model.seqLen)
        try sampler.compile(on: setup.backend)
        let pixels = try sampler.generate(ImageRequest(steps: imageSteps, side: side, labels: conditions.requestLabels,
                                                       captions: conditions.captions, guidance: guidance, sampler: HYBRID_SAMPLER_DEFAULT), seed: 1)
        let score = try quality.score(pixels, count: images, labels: conditions.expected)
        let about = conditions.captions != nil ? captions : conditions.description
        say(String(format: "%@: %d images (%d step%@%@): Fréchet %.3f (features), %.3f (pixels), near copies %.1f%% (within %.2f of a "
                   + "training image, as 5%% of the held-out are), %@", config.name, images, imageSteps, imageSteps == 1 ? "" : "s",
                   about.isEmpty ? "" : ", " + about, score.features, score.pixels, score.nearCopies * 100, quality.copyRadius,
                   score.agreement.map { String(format: "classifier agreement %.1f%%", $0 * 100) }
                       ?? String(format: "class entropy %.2f (max %.2f)", score.entropy, log(Double(quality.classes)))))
        if let summary = conditions.styleSummary(score.agreed) { say("\(config.name): agreement by caption style: " + summary) }
        let perfect = quality.perfect(count: images)
        metrics[key + "frechet_features"] = score.features
        metrics[key + "frechet_pixels"] = score.pixels
        metrics[key + "real_vs_real_frechet_features"] = quality.baseline.features.mean
        metrics[key + "real_vs_real_frechet_pixels"] = quality.baseline.pixels.mean
        metrics[key + "perfect_frechet_features"] = perfect.features
        metrics[key + "perfect_frechet_pixels"] = perfect.pixels
        metrics[key + "class_entropy"] = score.entropy
        metrics[key + "near_copies"] = score.nearCopies
        if !key.isEmpty { metrics[key + "classifier_accuracy"] = quality.heldOutAccuracy }
        if let agreement = score.agreement { metrics[key + "classifier_agreement"] = agreement }
        for style in score.agreed.map(conditions.agreementByStyle) ?? [] { metrics[key + "classifier_agreement/" + style.style] = style.agreement }
    }
}
