import ArgumentParser
import Foundation
import HybridCore
import HybridMPI
import HybridPlugins
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

    private func train(_ communicator: Communicator) throws {
        let say = Distributed.log(communicator)
        let leader = communicator.rank == 0
        let loaded = try Recipe.load(path: recipe, overrides: overrides)
        let backend = try BackendChoice.make(loaded.device, precision: loaded.precision, recompute: loaded.training.recompute, localRank: Distributed.localRank(communicator), log: say)
        let progress = Distributed.progress(communicator, logEvery: loaded.training.logEvery)
        let shards = (communicator.rank * dataShards)..<((communicator.rank + 1) * dataShards)
        let setup = try RunSetup(recipe: loaded, file: recipe, backend: backend, shards: shards, log: { progress.note($0) })
        let data = try TrainingData.load(loaded.data)
        try DataParallel.checkAgreement(recipeText: loaded.yamlText(), setup: setup, data: data, dataShards: dataShards, communicator: communicator)
        let params = setup.parameters.count
        let objectives = loaded.objectives.map { o in
            "\(o.name) (weight \(o.weight)" + (o.weightSchedule == .constant ? ")" : " → \(o.weightEnd), \(o.weightSchedule.rawValue))")
        }
        let batch = loaded.training.batchSize
        if let mpi = communicator as? MPICommunicator {
            say("data-parallel over \(mpi.size) ranks (\(mpi.version)); rank 0 logs and writes checkpoints")
        }
        say("recipe \(recipe): \(objectives.joined(separator: ", ")), mixing \(loaded.mixing.rawValue)")
        say("model d=\(loaded.model.dModel) L=\(loaded.model.layers) H=\(loaded.model.heads) T=\(loaded.model.seqLen) "
            + (communicator.size > 1 ? "B=\(batch) per rank × \(communicator.size) ranks = \(batch * communicator.size) per step" : "B=\(batch)")
            + (dataShards > 1 ? " (\(dataShards) data shards per \(communicator.size > 1 ? "rank" : "process"))" : "")
            + ", \(params.formatted()) parameters; data: \(data.summary)")
        let trainer = try Trainer(setup: setup, data: data, recipeText: loaded.yamlText(), recipePath: recipe,
                                  outputFolder: loaded.training.output, progress: progress, communicator: communicator)
        var start = 0
        // --resume, else the recipe's checkpoint.resume.
        let resume: String? = if let flag = self.resume { flag } else {
            switch loaded.checkpoint.resume {
            case .none: nil
            case .auto: "auto"
            case .file(let path): path.absolute
            }
        }
        if let resume {
            let path = try Self.checkpointToResume(resume, folder: loaded.training.output)
            let contents = try Checkpoint.read(path)
            let saved = contents.metadata["recipe"] ?? ""
            let differing = try Recipe.differences(saved, loaded.yamlText())
            if !differing.isEmpty && !overrideOnResume {
                throw TrainError("\(path): the recipe differs from the one the run was trained with at \(differing.joined(separator: ", ")); "
                    + "only run-length keys (\(Recipe.runLengthKeys.sorted().joined(separator: ", "))) may change on resume, "
                    + "or pass --override-on-resume")
            }
            start = try trainer.restore(contents, path: path)
            say("resuming \(path) after step \(start)" + (differing.isEmpty ? "" : " (overriding \(differing.joined(separator: ", ")))"))
        }
        try DataParallel.checkSameStart(start, communicator: communicator)
        StopSignals.install()
        let outcome = try trainer.run(from: start, stopAfter: stopAfter, stopRequested: { StopSignals.received != 0 })
        if case .stopped(let step) = outcome {
            say("stopped after step \(step) with checkpoint \(trainer.lastCheckpoint ?? "?"); continue with --resume auto")
            if StopSignals.received != 0 { throw ExitCode(128 + StopSignals.received) }
            return
        }
        if let last = trainer.evaluations.last {
            say("final validation: " + last.results.map(Progress.describe).joined(separator: ", "))
        }
        if leader, sampleTokens > 0, let corpus = data.text, let session = setup.sessions.first(where: { $0.instance.plugin.canContinueText }) {
            let prompt = Array(corpus.validation.prefix(samplePrompt)).map(Int32.init)
            let sampler = try TextSampler(instance: session.instance, parameters: setup.parameters, backbone: setup.backbone,
                                          seqLen: loaded.model.seqLen, settings: .init())
            try sampler.compile(on: backend)
            say("sample from \(session.name) (prompt: the first \(prompt.count) held-out bytes):\n---")
            printText(prompt)
            try sampler.generate(prompt: prompt, count: sampleTokens) { printText([$0]) }
            say("\n---")
        }
    }
}

extension Train {
    /// `auto`: the newest checkpoint in the run folder; otherwise the file named.
    static func checkpointToResume(_ choice: String, folder: String) throws -> String {
        guard choice == "auto" else { return choice }
        guard let newest = Trainer.checkpoints(in: folder).last else {
            throw TrainError("--resume auto: no checkpoint-*.safetensors in \(folder) to resume from")
        }
        return newest.path
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
