import ArgumentParser
import Foundation
import HybridRecipe
import HybridRun
import HybridTrain

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Benchmarks.", subcommands: [TrainBench.self, SampleBench.self, OpsBench.self, GenerateBench.self, TextBench.self])

    struct TrainBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "train",
            abstract: "Tokens/s of the whole training step (forward, backward, clip, AdamW, loss read back): median of the timed steps after warm-up, as ../shared/bench/ref_train.py measures it.",
            discussion: "Under mpirun the ranks train data-parallel: rank 0 prints tokens/s per rank and in all, and the share of the step spent in the all-reduce.")

        @Argument(help: "The recipe (YAML).")
        var recipe: String

        @Option(name: .customLong("set"), help: ArgumentHelp("Override a recipe value.", valueName: "key.path=value"))
        var overrides: [String] = []

        @Option(help: "Run on cpu, vulkan or auto (the same as --set device=…).")
        var device: Recipe.Device?

        @Option(parsing: .unconditional, help: "Untimed steps first.")
        var warmup = 3

        @Option(parsing: .unconditional, help: "Timed steps (at least 10).")
        var steps = 12

        @Flag(help: "Also print the time spent in each op, forward and backward, over the timed steps.")
        var profile = false

        @Flag(help: "Also time each objective alone, interleaved with the mixture's steps, and compare the mixture with the weighted sum of the single-objective step times.")
        var mixture = false

        func validate() throws {
            guard steps >= 10 else { throw ValidationError("--steps must be at least 10 for a stable median, got \(steps)") }
            guard warmup >= 0 else { throw ValidationError("--warmup must be ≥ 0") }
        }
        func run() throws {
            try Distributed.command(bench)
        }

        private func bench(_ job: Job) throws {
            let say = Distributed.log(job)
            let run = try Run(recipe: recipe, overrides: overrides + (device.map { ["device=\($0.rawValue)"] } ?? []), job: job, log: say)
            let m = run.recipe.model, ranks = job.size, batch = run.recipe.training.batchSize
            say("hybrid \(run.backend.deviceDescription) objectives=\(run.setup.sessions.map(\.name).joined(separator: "+")) "
                + "d=\(m.dModel) L=\(m.layers) H=\(m.heads) T=\(m.seqLen) B=\(batch)"
                + (ranks > 1 ? " per rank × \(ranks) ranks" : "") + " params=\(run.setup.parameters.count.formatted())")
            let r = try TrainBenchmark(run).measure(warmup: warmup, steps: steps, profile: profile, mixture: mixture)
            // Tokens/s is the median of the steps' own rates, so it holds under
            // `mixing: sample`, where steps differ in size.
            let median = r.seconds.median, tokens = r.tokensPerSecond.median
            say(String(format: "median %.2f ms per step, %.0f tokens/s%@, min %.2f ms, peak RSS %.0f MiB, other processes used %.2f cores meanwhile",
                       median * 1e3, tokens, ranks > 1 ? " per rank" : "", r.seconds.min()! * 1e3, r.peakRSSMiB, r.otherCores))
            var result: [String: Any] = [
                "impl": "hybrid", "device": run.backend.deviceDescription, "d": m.dModel, "L": m.layers, "H": m.heads, "T": m.seqLen,
                "B": batch, "median_step_ms": (median * 1e5).rounded() / 100, "tokens_per_s": tokens.rounded(),
                "peak_rss_mib": r.peakRSSMiB.rounded(), "other_load_cores": (r.otherCores * 100).rounded() / 100, "timed_steps": steps,
            ]
            if ranks > 1 {
                // Time in the step's collectives (the gradient all-reduce and the two small
                // ones), as a share of the step, over all timed steps of this rank.
                let share = r.communication.reduce(0, +) / r.seconds.reduce(0, +)
                say(String(format: "data-parallel over %d ranks: %.0f tokens/s per rank, %.0f tokens/s in all; all-reduce %.2f ms per step, %.1f%% of the step",
                           ranks, tokens, tokens * Double(ranks), r.communication.median * 1e3, share * 100))
                result["ranks"] = ranks
                result["tokens_per_s_all_ranks"] = (tokens * Double(ranks)).rounded()
                result["allreduce_share"] = (share * 1e4).rounded() / 1e4
                result["allreduce_ms"] = (r.communication.median * 1e5).rounded() / 100
            }
            if mixture {
                let expected = r.expected(mixing: run.recipe.mixing, weights: run.trainer.weights(0))
                say("objective        share   median ms/step alone")
                for (i, session) in run.setup.sessions.enumerated() {
                    say(session.name.padding(toLength: 16, withPad: " ", startingAt: 0)
                        + String(format: "%6.2f   %9.2f", expected.shares[i], r.alone[i].median * 1e3))
                }
                say(String(format: "mixture (%@): mean %.2f ms per step; weighted sum of the objectives alone %.2f ms; ratio %.3f",
                           run.recipe.mixing.rawValue, r.seconds.mean * 1e3, expected.seconds * 1e3, r.seconds.mean / expected.seconds))
            }
            if profile {
                let total = r.ops.reduce(0) { $0 + $1.seconds }
                say("op                        ms/step   share")
                for (name, seconds) in r.ops {
                    say(name.padding(toLength: 24, withPad: " ", startingAt: 0)
                        + String(format: "%9.2f  %5.1f%%", seconds / Double(steps) * 1e3, seconds / total * 100))
                }
            }
            let json = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
            say("RESULT " + String(decoding: json, as: UTF8.self))
        }
    }
}
