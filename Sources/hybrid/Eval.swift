import ArgumentParser
import Foundation
import HybridRecipe
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

    func run() throws {
        try reportingFailures {
            let contents = try Checkpoint.read(checkpoint)
            guard let text = contents.metadata["recipe"] else {
                throw TrainError("\(checkpoint): the checkpoint's metadata has no recipe; it was not written by hybrid train")
            }
            let recipe = try Recipe.decode(yaml: text, path: contents.metadata["recipe_path"] ?? checkpoint, overrides: overrides)
            let backend = try BackendChoice.make(device ?? recipe.device, log: { printError($0) })
            let setup = try RunSetup(recipe: recipe, file: checkpoint, backend: backend, log: { _ in })
            try Checkpoint.load(contents, into: setup.parameters, path: checkpoint)
            let data = try TrainingData.load(recipe.data)
            let silent = Progress(logEvery: .max, isTerminal: false, write: { _ in })
            let trainer = try Trainer(setup: setup, data: data, recipeText: "", recipePath: checkpoint, outputFolder: "", progress: silent)
            let step = Int(contents.metadata["step"] ?? "") ?? 0
            let evaluation = try trainer.evaluate(step: step)
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
            let path = out ?? (checkpoint.hasSuffix(".safetensors") ? String(checkpoint.dropLast(".safetensors".count)) : checkpoint) + ".eval.json"
            let json = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys, .prettyPrinted])
            try AtomicFile.write(json, to: path)
            say("wrote \(path)")
        }
    }
}
