import ArgumentParser
import CHybridPlugin
import Foundation
import HybridPlugins
import HybridRecipe
import HybridEval
import HybridRun
import HybridTrain

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score a checkpoint on held-out data: every objective's validation metric, printed and written as JSON.")

    @Option(help: "A checkpoint written by `hybrid train` (.safetensors).")
    var checkpoint: String

    @Option(name: .customLong("set"), help: ArgumentHelp(
        "Override a value of the checkpoint's recipe, e.g. data.text=[\"other/*.txt\"] or training.eval_batches=32.", valueName: "key.path=value"))
    var overrides: [String] = []

    @Option(help: "Run on cpu, vulkan or auto (default: the device of the checkpoint's recipe).")
    var device: Recipe.Device?

    @Option(help: "Where to write the JSON (default: the checkpoint's path with .eval.json).")
    var out: String?

    @Option(parsing: .unconditional, help: "Image objectives: how many images to draw for the Fréchet distances (0: none).")
    var images = 500

    @Option(parsing: .unconditional, help: "Image objectives: the DDIM steps to draw them with.")
    var imageSteps = 50

    @Option(parsing: .unconditional, help: "Image objectives: training steps of the classifier (the data's labels) whose features the Fréchet distance compares.")
    var classifierSteps = 3000

    @Option(parsing: .unconditional, help: "Image objectives with labels or captions: classifier-free guidance scale w (1: plain conditional).")
    var guidance: Float = 1

    @Option(help: ArgumentHelp("Image objectives: also score against these images (a folder or digits file, read as the recipe reads its images), "
                               + "which neither the model nor the classifier trained on, such as data/glyphs-unseen: the faces kept out of training.",
                               valueName: "path"))
    var unseenImages: String?

    func validate() throws {
        guard images >= 0, imageSteps >= 1, classifierSteps >= 1 else {
            throw ValidationError("--images must be ≥ 0, --image-steps and --classifier-steps ≥ 1")
        }
        if images > 0 { guard images >= 10 else { throw ValidationError("--images must be 0 or at least 10 for a Fréchet distance") } }
        guard guidance.isFinite, guidance >= 0 else { throw ValidationError("--guidance must be a finite scale ≥ 0, got \(guidance)") }
    }

    func run() throws {
        try reportingFailures {
            let run = try Run(checkpoint: checkpoint, overrides: overrides, device: device, log: { printError($0) })
            let step = Int(run.checkpoint?.metadata["step"] ?? "") ?? 0
            let evaluation = try run.trainer.evaluate(step: step)
            let recipe = run.recipe, data = run.data
            say("\(checkpoint) (step \(step)), \(recipe.training.evalBatches) held-out batches per objective; data: \(data.summary)")
            var record: [String: Any] = ["checkpoint": checkpoint, "step": step]
            for r in evaluation.results {
                var metrics: [String: Double] = [:]
                if let accuracy = r.accuracy {
                    metrics = ["nats": Double(r.loss), "bits_per_byte": Double(r.loss) / M_LN2, "perplexity": exp(Double(r.loss)), "accuracy": accuracy]
                    say(String(format: "%@: %.4f nats = %.3f bits/byte, perplexity %.2f, accuracy %.1f%%",
                               r.name, r.loss, metrics["bits_per_byte"]!, metrics["perplexity"]!, accuracy * 100))
                } else {
                    metrics = ["mse": Double(r.loss)]
                    say(String(format: "%@: denoising mse %.4f (a fixed grid of noise levels)", r.name, r.loss))
                }
                record[r.name] = metrics
            }
            if images > 0, let (train, validation) = data.images {
                try scoreImages(setup: run.setup, recipe: recipe, train: train, validation: validation, into: &record)
            }
            let path = out ?? (checkpoint.hasSuffix(".safetensors") ? String(checkpoint.dropLast(".safetensors".count)) : checkpoint) + ".eval.json"
            let json = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys, .prettyPrinted])
            try AtomicFile.write(json, to: path)
            say("wrote \(path)")
        }
    }

    /// Draws `images` with each image objective (DDIM, `imageSteps`; one label per image,
    /// cycling through the classes, where the objective was trained with labels, or through the
    /// held-out captions) and adds their Fréchet distances to the real images, beside the
    /// real-vs-real yardstick; then the same against `unseenImages`, for its captions.
    private func scoreImages(setup: RunSetup, recipe: Recipe, train: ImageSet, validation: ImageSet, into record: inout [String: Any]) throws {
        let drawing = zip(recipe.objectives, setup.sessions).filter { $0.1.instance.plugin.canDrawImages }
        guard !drawing.isEmpty else { return }
        let quality = try ImageQuality(train: train, validation: validation, source: recipe.data.images?.absolute ?? checkpoint,
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
                var metrics = record[config.name] as? [String: Double] ?? [:]
                try draw(config, session, setup: setup, recipe: recipe, side: train.side, quality: reference.quality, against: reference.images,
                         captions: reference.captions, key: reference.key, into: &metrics)
                record[config.name] = metrics
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
                                                       captions: conditions.captions, guidance: guidance, sampler: HYBRID_SAMPLER_DDIM), seed: 1)
        let score = try quality.score(pixels, count: images, labels: conditions.expected)
        let about = conditions.captions != nil ? captions : conditions.description
        say(String(format: "%@: %d images (DDIM %d steps%@): Fréchet %.3f (features), %.3f (pixels), near copies %.1f%% (within %.2f of a "
                   + "training image, as 5%% of the held-out are), %@", config.name, images, imageSteps,
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
