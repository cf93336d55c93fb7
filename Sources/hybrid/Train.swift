import ArgumentParser
import Foundation
import HybridRecipe
import HybridRun
import HybridTrain

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train the model a recipe describes; checkpoint it and print a sample.")

    @Argument(help: "The recipe (YAML).")
    var recipe: String

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a recipe value, e.g. training.steps=100.", valueName: "key.path=value"))
    var overrides: [String] = []

    @Option(help: ArgumentHelp("Resume a run: auto (the newest checkpoint in training.output) or a checkpoint file (overrides the recipe's checkpoint.resume).", valueName: "auto|file"))
    var resume: String?

    @Flag(help: "Resume even where the recipe differs from the checkpoint's in more than run-length keys.")
    var overrideOnResume = false

    @Option(parsing: .unconditional, help: "Stop after this many steps (counted from where this invocation starts) with a checkpoint, as Ctrl-C would; continue with --resume auto.")
    var stopAfter: Int?

    @Option(parsing: .unconditional, help: "Bytes of held-out text to start the final sample with.")
    var samplePrompt = 48

    @Option(parsing: .unconditional, help: "Bytes to generate after training (0: none).")
    var sampleTokens = 300

    @Option(parsing: .unconditional, help: "Draw each batch as this many data shards with the streams of as many ranks: one process with K× a K-rank run's batch_size draws exactly what those ranks draw. Under mpirun, shards per rank.")
    var dataShards = 1

    func validate() throws {
        guard dataShards >= 1 else { throw ValidationError("--data-shards must be at least 1, got \(dataShards)") }
        if let stopAfter { guard stopAfter >= 1 else { throw ValidationError("--stop-after must be at least 1, got \(stopAfter)") } }
        guard samplePrompt >= 0, sampleTokens >= 0 else {
            throw ValidationError("--sample-prompt and --sample-tokens must be ≥ 0, got \(samplePrompt) and \(sampleTokens)")
        }
    }
    func run() throws {
        try Distributed.command(train)
    }

    private func train(_ job: Job) throws {
        let say = Distributed.log(job)
        let run = try Run(recipe: recipe, overrides: overrides, job: job, dataShards: dataShards, showProgress: true, log: say)
        run.summary.forEach(say)
        let start = try run.resume(resume, overriding: overrideOnResume)
        StopSignals.install()
        let outcome = try run.train(from: start, stopAfter: stopAfter, stopRequested: { StopSignals.received != 0 })
        if case .stopped(let step) = outcome {
            say("stopped after step \(step) with checkpoint \(run.trainer.lastCheckpoint ?? "?"); continue with --resume auto")
            if StopSignals.received != 0 { throw ExitCode(128 + StopSignals.received) }
            return
        }
        if let last = run.trainer.evaluations.last {
            say("final validation: " + last.results.map(Progress.describe).joined(separator: ", "))
        }
        guard job.isLeader, sampleTokens > 0, let (objective, prompt, sampler) = try run.textSample(promptBytes: samplePrompt) else { return }
        say("sample from \(objective) (prompt: the first \(prompt.count) held-out bytes):\n---")
        printText(prompt)
        try sampler.generate(prompt: prompt, count: sampleTokens) { printText([$0]) }
        say("\n---")
    }
}

/// Writes byte tokens as they come (special tokens in brackets).
func printText(_ tokens: [Int32]) {
    var bytes: [UInt8] = []
    for t in tokens {
        if t < 256 { bytes.append(UInt8(t)) } else { bytes += Array("[\(t)]".utf8) }
    }
    FileHandle.standardOutput.write(Data(bytes))
}
