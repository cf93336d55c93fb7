import ArgumentParser
import Foundation
import HybridCore
import HybridRecipe
import HybridRun
import HybridTrain

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Benchmarks.", subcommands: [TrainBench.self, SampleBench.self, OpsBench.self, GenerateBench.self])

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

        private func bench(_ communicator: Communicator) throws {
            let say = Distributed.log(communicator)
            let ranks = communicator.size
            let loaded = try Recipe.load(path: recipe, overrides: overrides + (device.map { ["device=\($0.rawValue)"] } ?? []))
            let backend = try BackendChoice.make(loaded.device, precision: loaded.precision, recompute: loaded.training.recompute, localRank: Distributed.localRank(communicator), log: say)
            let progress = Progress(logEvery: .max, isTerminal: false, write: { _ in })
            let setup = try RunSetup(recipe: loaded, file: recipe, backend: backend, shards: communicator.rank..<(communicator.rank + 1), log: { _ in })
            let data = try TrainingData.load(loaded.data)
            try DataParallel.checkAgreement(recipeText: loaded.yamlText(), setup: setup, data: data, communicator: communicator)
            let trainer = try Trainer(setup: setup, data: data, recipeText: "", recipePath: recipe, outputFolder: "",
                                      progress: progress, communicator: communicator)
            let m = loaded.model
            say("hybrid \(backend.deviceDescription) objectives=\(setup.sessions.map(\.name).joined(separator: "+")) "
                + "d=\(m.dModel) L=\(m.layers) H=\(m.heads) T=\(m.seqLen) B=\(loaded.training.batchSize)"
                + (ranks > 1 ? " per rank × \(ranks) ranks" : "") + " params=\(setup.parameters.count.formatted())")
            var times: [Double] = []
            var communication: [Double] = []
            var rates: [Double] = []
            let sessionCount = setup.sessions.count
            var alone = [[Double]](repeating: [], count: mixture ? sessionCount : 0)
            var watch = CPUWatch()
            let opProfile = OpProfile()
            /// One timed step of `objectives`: seconds and positions.
            func timed(_ step: Int, _ objectives: [Int]) throws -> (seconds: Double, positions: Int, communication: Double) {
                try trainer.loadBatches(objectives, step: step)
                let t0 = ContinuousClock.now
                let result = try trainer.computeStep(step, objectives: objectives)
                let elapsed = ContinuousClock.now - t0
                return (elapsed.inSeconds, result.positions, result.communicationSeconds)
            }
            for step in 0..<(warmup + steps) {
                if step == warmup {
                    watch.start()
                    if profile { for s in setup.sessions { s.executable?.profile = opProfile } }
                }
                for i in alone.indices {
                    let seconds = try timed(step, [i]).seconds
                    if step >= warmup { alone[i].append(seconds) }
                }
                let (seconds, positions, talking) = try timed(step, trainer.pickObjectives(step: step))
                if step >= warmup {
                    times.append(seconds)
                    rates.append(Double(positions) / seconds)
                    communication.append(talking)
                }
            }
            let otherLoad = watch.otherCores()
            // Tokens/s is the median of the steps' own rates, so it holds under
            // `mixing: sample`, where steps differ in size.
            let median = Self.median(times)
            let tokens = Self.median(rates)
            let rss = peakRSSMiB()
            say(String(format: "median %.2f ms per step, %.0f tokens/s%@, min %.2f ms, peak RSS %.0f MiB, other processes used %.2f cores meanwhile",
                         median * 1e3, tokens, ranks > 1 ? " per rank" : "", times.min()! * 1e3, rss, otherLoad))
            var result: [String: Any] = [
                "impl": "hybrid", "device": backend.deviceDescription, "d": m.dModel, "L": m.layers, "H": m.heads, "T": m.seqLen,
                "B": loaded.training.batchSize, "median_step_ms": (median * 1e5).rounded() / 100, "tokens_per_s": tokens.rounded(),
                "peak_rss_mib": rss.rounded(), "other_load_cores": (otherLoad * 100).rounded() / 100, "timed_steps": steps,
            ]
            if ranks > 1 {
                // Time in the step's collectives (the gradient all-reduce and the two small
                // ones), as a share of the step, over all timed steps of this rank.
                let share = communication.reduce(0, +) / times.reduce(0, +)
                say(String(format: "data-parallel over %d ranks: %.0f tokens/s per rank, %.0f tokens/s in all; all-reduce %.2f ms per step, %.1f%% of the step",
                           ranks, tokens, tokens * Double(ranks), Self.median(communication) * 1e3, share * 100))
                result["ranks"] = ranks
                result["tokens_per_s_all_ranks"] = (tokens * Double(ranks)).rounded()
                result["allreduce_share"] = (share * 1e4).rounded() / 1e4
                result["allreduce_ms"] = (Self.median(communication) * 1e5).rounded() / 100
            }
            if mixture {
                // Under sum every objective runs each step; under sample one, drawn with
                // the weights as probabilities: the expected step is Σ share_i · t_i.
                let weights = trainer.weights(0), live = weights.reduce(0) { $0 + max($1, 0) }
                let mean = { (v: [Double]) in v.reduce(0, +) / Double(v.count) }
                var expected = 0.0
                say("objective        share   median ms/step alone")
                for (i, session) in setup.sessions.enumerated() {
                    let share = loaded.mixing == .sum ? (weights[i] > 0 ? 1 : 0) : Double(max(weights[i], 0) / live)
                    expected += share * mean(alone[i])
                    say(session.name.padding(toLength: 16, withPad: " ", startingAt: 0)
                        + String(format: "%6.2f   %9.2f", share, Self.median(alone[i]) * 1e3))
                }
                let actual = mean(times)
                say(String(format: "mixture (%@): mean %.2f ms per step; weighted sum of the objectives alone %.2f ms; ratio %.3f",
                           loaded.mixing.rawValue, actual * 1e3, expected * 1e3, actual / expected))
            }
            if profile {
                let total = opProfile.entries.values.reduce(0) { $0 + $1.seconds }
                say("op                        ms/step   share")
                for (name, e) in opProfile.entries.sorted(by: { $0.value.seconds > $1.value.seconds }) {
                    say(name.padding(toLength: 24, withPad: " ", startingAt: 0)
                        + String(format: "%9.2f  %5.1f%%", e.seconds / Double(steps) * 1e3, e.seconds / total * 100))
                }
            }
            let json = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
            say("RESULT " + String(decoding: json, as: UTF8.self))
        }

        static func median(_ values: [Double]) -> Double {
            let v = values.sorted()
            return v.count % 2 == 1 ? v[v.count / 2] : (v[v.count / 2 - 1] + v[v.count / 2]) / 2
        }
    }
}

/// Peak resident set size of this process, in MiB.
func peakRSSMiB() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

/// How many cores other processes used while a timed region ran (machine busy time from
/// /proc/stat minus this process's CPU time), as ../shared/bench/bench_common.py reports.
struct CPUWatch {
    private var wall0 = ContinuousClock.now
    private var own0 = 0.0
    private var busy0 = 0.0

    mutating func start() {
        wall0 = ContinuousClock.now
        own0 = Self.ownSeconds()
        busy0 = Self.machineBusySeconds()
    }

    func otherCores() -> Double {
        let d = ContinuousClock.now - wall0
        let wall = d.inSeconds
        let other = (Self.machineBusySeconds() - busy0) - (Self.ownSeconds() - own0)
        return max(0, other / max(wall, 1e-9))
    }

    static func ownSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) * 1e-6 }
        return s(usage.ru_utime) + s(usage.ru_stime)
    }

    static func machineBusySeconds() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let line = text.split(separator: "\n").first else { return 0 }
        let fields = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard fields.count >= 8 else { return 0 }
        let busy = fields.prefix(8).reduce(0, +) - fields[3] - fields[4]
        return busy / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
