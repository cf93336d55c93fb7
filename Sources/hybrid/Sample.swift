import ArgumentParser
import Foundation
import HybridCore
import HybridNN
import HybridRecipe
import HybridTrain

struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Generate text from a checkpoint.")

    @Option(help: "A checkpoint written by `hybrid train` (.safetensors).")
    var checkpoint: String

    @Option(help: "The text to continue.")
    var prompt: String

    @Option(help: "How many bytes to generate.")
    var tokens = 200

    @Option(help: "Softmax temperature; 0 picks the most likely byte.")
    var temperature: Float = 0.8

    @Option(help: "Sample among the k most likely bytes (0: all).")
    var topK = 40

    @Option(help: "Seed of the sampling stream.")
    var seed: UInt64 = 1

    @Option(help: "The objective to sample with (default: the first that can).")
    var objective: String?

    func validate() throws {
        guard tokens > 0 else { throw ValidationError("--tokens must be at least 1, got \(tokens)") }
        guard temperature >= 0, temperature.isFinite else { throw ValidationError("--temperature must be ≥ 0, got \(temperature)") }
        guard topK >= 0 else { throw ValidationError("--top-k must be ≥ 0, got \(topK)") }
        guard !prompt.isEmpty else { throw ValidationError("--prompt must not be empty") }
    }

    func run() throws {
        try reportingFailures {
            let model = try CheckpointModel(path: checkpoint)
            let candidates = zip(model.recipe.objectives, model.instances).filter { $0.1.plugin.canSample }
            guard let (config, instance) = objective.map({ name in candidates.first { $0.0.name == name } }) ?? candidates.first else {
                let names = model.recipe.objectives.map(\.name).joined(separator: ", ")
                throw TrainError("\(checkpoint): no objective \(objective.map { "named \($0) " } ?? "")can sample text (objectives: \(names))")
            }
            let sampler = try TextSampler(instance: instance, parameters: model.parameters, backbone: model.backbone,
                                          seqLen: model.recipe.model.seqLen,
                                          settings: .init(temperature: temperature, topK: topK, seed: seed))
            try model.load()
            try sampler.compile(on: model.backend)
            let ids = Array(prompt.utf8.suffix(model.recipe.model.seqLen)).map(Int32.init)
            printError("sampling \(tokens) bytes with \(config.name) from \(checkpoint) (step \(model.step))")
            printText(ids)
            try sampler.generate(prompt: ids, count: tokens) { printText([$0]) }
            say("")
        }
    }
}
