import ArgumentParser
import HybridTrain

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a checkpoint as a folder other tools read without hybrid: model.safetensors, config.json, recipe.yaml.")

    @Option(help: "The checkpoint (.safetensors) to export.")
    var checkpoint: String

    @Option(help: "The folder to write (default: the checkpoint's path without .safetensors, plus -export).")
    var output: String?

    func run() throws {
        try reportingFailures {
            let folder = output ?? (checkpoint.hasSuffix(".safetensors") ? String(checkpoint.dropLast(".safetensors".count)) : checkpoint) + "-export"
            let summary = try ModelExport.write(checkpoint: checkpoint, to: folder)
            say("wrote \(folder): \(summary.tensors) tensors, \(summary.parameters.formatted()) parameters, step \(summary.step) "
                + "(read it with python/hybrid_numpy.py)")
        }
    }
}
