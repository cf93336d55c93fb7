import ArgumentParser
import Foundation
import HybridRecipe
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

    @Option(parsing: .unconditional, help: "Image objectives: the sampler steps to draw them with, by the objective's own sampler (the denoising objective's DDIM below its training levels; the shortcut model's Euler steps).")
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
            if images > 0 {
                let scoring = ImageScoring(images: images, steps: imageSteps, classifierSteps: classifierSteps, guidance: guidance,
                                           unseenImages: unseenImages, log: { say($0) })
                for (objective, metrics) in try scoring.score(run) { record[objective] = (record[objective] as? [String: Double] ?? [:]).merging(metrics) { $1 } }
            }
            let path = out ?? (checkpoint.hasSuffix(".safetensors") ? String(checkpoint.dropLast(".safetensors".count)) : checkpoint) + ".eval.json"
            let json = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys, .prettyPrinted])
            try AtomicFile.write(json, to: path)
            say("wrote \(path)")
        }
    }
}
