import ArgumentParser
import Foundation
import HybridRun
import HybridTrain

extension Bench {
    /// `hybrid bench text`: text samplers side by side, read by one causal scorer.
    struct TextBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "text",
            abstract: "Text samplers side by side: bytes/s and the bits/byte a causal scorer gives their samples (generative perplexity) for a causal sampler (with its key/value cache and without) and a masked-diffusion objective at several unmasking step counts.",
            discussion: "The causal sampler runs twice, over its key/value cache and recomputing the window for every byte (the same bytes, so the same score; only bytes/s differ). Every row writes --samples samples of --tokens bytes after the same prompt, seeds --seed, --seed + 1, …, at the same temperature, top-k and top-p; the scorer reads each whole. Byte entropy (bits, over all of a row's samples) drops when a sampler repeats itself, which also lowers its bits/byte.")

        @Option(help: "The scorer: a checkpoint with a causal objective; its own sampler gives the first row.")
        var scorer: String

        @Option(help: "The scorer's objective.")
        var scorerObjective = "causal"

        @Option(help: "The checkpoint whose sampler the other rows run.")
        var checkpoint: String

        @Option(help: "Its objective (default: the first that continues text).")
        var objective: String?

        @Option(help: "Unmasking step counts, comma-separated, one row each.")
        var steps = "8,32,128"

        @Option(parsing: .unconditional, help: "Bytes a sample.")
        var tokens = 128

        @Option(parsing: .unconditional, help: "Samples a row.")
        var samples = 8

        @Option(help: "The prompt every sample continues (default: a newline).")
        var prompt = "\n"

        @Option(parsing: .unconditional, help: "Softmax temperature; 0 picks the most likely byte.")
        var temperature: Float = 1

        @Option(parsing: .unconditional, help: "Sample among the k most likely bytes (0: all).")
        var topK = 0

        @Option(parsing: .unconditional, help: "Nucleus sampling's probability mass (1: all).")
        var topP: Float = 1

        @Option(parsing: .unconditional, help: "Seed of the first sample.")
        var seed: UInt64 = 1

        func validate() throws {
            guard tokens >= 1, samples >= 1 else { throw ValidationError("--tokens and --samples must be at least 1, got \(tokens) and \(samples)") }
            guard !prompt.isEmpty else { throw ValidationError("--prompt is empty; give at least one byte") }
            guard temperature >= 0, topK >= 0, topP > 0, topP <= 1 else { throw ValidationError("--temperature and --top-k must be ≥ 0 and --top-p in (0, 1]") }
            guard (try? stepCounts()) != nil else { throw ValidationError("--steps \"\(steps)\": expected step counts like 8,32,128") }
        }

        func stepCounts() throws -> [Int] {
            let counts = steps.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !counts.isEmpty, counts.allSatisfy({ ($0 ?? 0) > 0 }) else { throw ValidationError("bad --steps") }
            return counts.map { $0! }
        }

        func run() throws {
            try reportingFailures {
                let settings = TextSampler.Settings(temperature: temperature, topK: topK, topP: topP, seed: seed)
                let bench = try TextSampleBenchmark(scorer: scorer, scorerObjective: scorerObjective, prompt: Array(prompt.utf8).map(Int32.init),
                                                    tokens: tokens, samples: samples, settings: settings, log: { printError($0) })
                let rows = try bench.measure(path: checkpoint, objective: objective, steps: try stepCounts(), log: { printError($0) })
                say(String(format: "%d samples of %d bytes a row, temperature %g, top-k %d, top-p %g; read by %@ (objective %@)",
                           samples, tokens, temperature, topK, topP, scorer, scorerObjective))
                say("sampler                    bytes/s   scorer bits/byte   × causal's   byte entropy")
                let reference = rows[0].bitsPerByte
                var json: [[String: Any]] = []
                for row in rows {
                    say(row.label.padding(toLength: 22, withPad: " ", startingAt: 0)
                        + String(format: "%12.1f %14.3f %12.2f× %12.2f", row.bytesPerSecond, row.bitsPerByte, row.bitsPerByte / reference, row.byteEntropy))
                    json.append(["objective": row.objective, "steps": row.steps ?? 0, "kv_cache": row.kvCache, "bytes_per_s": (row.bytesPerSecond * 10).rounded() / 10,
                                 "bits_per_byte": (row.bitsPerByte * 1000).rounded() / 1000, "byte_entropy": (row.byteEntropy * 100).rounded() / 100])
                }
                for row in rows where row.kvCache { say("first sample, \(row.label): \(row.first.debugDescription)") }
                let data = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
                say("RESULT " + String(decoding: data, as: UTF8.self))
            }
        }
    }
}
