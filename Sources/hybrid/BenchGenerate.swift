import ArgumentParser
import Foundation
import HybridRecipe
import HybridRun
import HybridTrain

/// `hybrid bench generate`: text generation with the key/value cache against recomputing the
/// whole window for every byte, in one run, from the same seed (the two must write the same
/// bytes), as bytes per second and their ratio.
struct GenerateBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Bytes/s of text generation with the key/value cache and without, side by side.")

    @Option(help: "A checkpoint with a causal objective.")
    var checkpoint: String

    @Option(parsing: .unconditional, help: "Bytes to generate per run (the prompt plus these fit in the context).")
    var tokens = 100

    @Option(parsing: .unconditional, help: "Prompt bytes (taken from a fixed line of text).")
    var promptBytes = 16

    @Option(parsing: .unconditional, help: "Timed runs of each.")
    var runs = 5

    @Option(help: "Run on cpu, vulkan or auto (default: the checkpoint's recipe's device).")
    var device: Recipe.Device?

    func validate() throws {
        guard tokens >= 1, promptBytes >= 1, runs >= 1 else {
            throw ValidationError("--tokens, --prompt-bytes and --runs must be at least 1, got \(tokens), \(promptBytes) and \(runs)")
        }
    }

    func run() throws {
        try reportingFailures {
            let model = try CheckpointModel(path: checkpoint, device: device, log: { printError($0) })
            let seqLen = model.recipe.model.seqLen
            guard promptBytes + tokens <= seqLen else {
                throw ValidationError("--prompt-bytes + --tokens must fit the model's context of \(seqLen)")
            }
            let line = Array("To be, or not to be, that is the question: Whether 'tis nobler in the mind to suffer".utf8)
            let prompt = (0..<promptBytes).map { Int32(line[$0 % line.count]) }
            var outputs: [[Int32]] = [], rates: [Double] = []
            for cache in [true, false] {
                let sampler = try model.textSampler(settings: .init(temperature: 0.8, topK: 40, seed: 7), kvCache: cache).sampler
                var times: [Double] = [], text: [Int32] = []
                for _ in 0..<(runs + 1) {
                    var out: [Int32] = []
                    let t0 = ContinuousClock.now
                    try sampler.generate(prompt: prompt, count: tokens) { out.append($0) }
                    times.append((ContinuousClock.now - t0).inSeconds)
                    text = out
                }
                let median = times.dropFirst().sorted()[runs / 2]
                rates.append(Double(tokens) / median)
                outputs.append(text)
                say(String(format: "%@: %.0f bytes/s (median of %d runs of %d bytes after a %d-byte prompt)",
                           cache ? "key/value cache      " : "whole window per byte", rates.last!, runs, tokens, promptBytes))
            }
            guard outputs[0] == outputs[1] else { throw TrainError("the two ways wrote different bytes: the key/value cache is wrong") }
            say(String(format: "ratio %.2fx (the same %d bytes both ways)", rates[0] / rates[1], tokens))
            let json = try JSONSerialization.data(withJSONObject: ["kv_bytes_per_s": rates[0].rounded(), "full_bytes_per_s": rates[1].rounded(),
                                                                    "ratio": (rates[0] / rates[1] * 100).rounded() / 100], options: [.sortedKeys])
            say("RESULT " + String(decoding: json, as: UTF8.self))
        }
    }
}
