import Foundation
import HybridCore
import HybridNN
import HybridPlugins
import HybridRecipe
import HybridTrain

/// One run, assembled once: a recipe (from its file, or from a checkpoint's metadata) turned
/// into its backend, the objectives' graphs over the shared parameters, the data and the
/// trainer — and what a command does with it: train, evaluate, sample.
///
/// A recipe value's path: `Recipe.load` (HybridRecipe: file → YAML nodes → overrides → typed
/// `Recipe`), `BackendChoice.make` (device, precision, recompute), `RunSetup` (plugins loaded,
/// each objective's `config:` checked against the keys it declares, graphs built, parameters
/// allocated, graphs compiled), `Trainer` (the schedule, the loop).
public final class Run {
    public let recipe: Recipe
    /// The recipe file, or the checkpoint the recipe came from: what errors name.
    public let file: String
    public let job: Job
    public let setup: RunSetup
    public let data: TrainingData
    public let trainer: Trainer
    /// The checkpoint a run rebuilt from a checkpoint was loaded from.
    public let checkpoint: Checkpoint.Contents?
    private let log: (String) -> Void

    public var backend: Backend { setup.backend }

    /// The run `file` describes, with `overrides` (`key.path=value`) applied: each rank of
    /// `job` draws its batches as `dataShards` shards; `log` gets the device lines, and the
    /// setup's and training's lines go to the job's progress display where `showProgress`.
    public init(recipe file: String, overrides: [String] = [], job: Job = Job(), dataShards: Int = 1, showProgress: Bool = false,
                log: @escaping (String) -> Void) throws {
        let recipe = try Recipe.load(path: file, overrides: overrides)
        let progress = showProgress ? job.progress(logEvery: recipe.training.logEvery) : HybridTrain.Progress.silent
        let backend = try BackendChoice.make(recipe.device, precision: recipe.precision, recompute: recipe.training.recompute,
                                             localRank: job.localRank, log: log)
        let shards = (job.rank * dataShards)..<((job.rank + 1) * dataShards)
        let setup = try RunSetup(recipe: recipe, file: file, backend: backend, shards: shards, log: { progress.note($0) })
        let data = try TrainingData.load(recipe.data)
        try DataParallel.checkAgreement(recipeText: recipe.yamlText(), setup: setup, data: data, dataShards: dataShards, communicator: job.communicator)
        self.recipe = recipe
        self.file = file
        self.job = job
        self.setup = setup
        self.data = data
        self.log = log
        checkpoint = nil
        trainer = try Trainer(setup: setup, data: data, recipeText: recipe.yamlText(), recipePath: file, outputFolder: recipe.training.output,
                              progress: progress, communicator: job.communicator)
    }

    /// The run a checkpoint was trained by (its recipe, with `overrides`), its weights loaded:
    /// to evaluate it. `device` nil: the recipe's.
    public init(checkpoint path: String, overrides: [String] = [], device: Recipe.Device? = nil, log: @escaping (String) -> Void) throws {
        let contents = try Checkpoint.read(path)
        let recipe = try contents.recipe(checkpoint: path, overrides: overrides)
        let backend = try BackendChoice.make(device ?? recipe.device, precision: recipe.precision, log: log)
        let setup = try RunSetup(recipe: recipe, file: path, backend: backend, log: { _ in })
        try Checkpoint.load(contents, into: setup.parameters, path: path)
        self.recipe = recipe
        file = path
        job = Job()
        self.setup = setup
        data = try TrainingData.load(recipe.data)
        self.log = log
        checkpoint = contents
        trainer = try Trainer(setup: setup, data: data, recipeText: "", recipePath: path, outputFolder: "", progress: .silent)
    }

    /// Checks `recipe` (read from `file`) as far as it can without data or a backend: each
    /// plugin loads and accepts its `config:` section, and the graphs fit the memory budget,
    /// which is returned.
    public static func check(_ recipe: Recipe, file: String) throws -> MemoryBudget {
        let instances = try RunSetup.instances(for: recipe, file: file)
        return try RunSetup.sessions(for: recipe, file: file, instances: instances, parameters: ParameterStore(),
                                     backbone: Backbone(config: RunSetup.backboneConfig(recipe.model)), log: { _ in }).budget
    }

    /// What the run is, for its first lines: objectives and mixing; the model, the batch over
    /// the ranks, the parameters and the data.
    public var summary: [String] {
        let objectives = recipe.objectives.map { o in
            "\(o.name) (weight \(o.weight)" + (o.weightSchedule == .constant ? ")" : " → \(o.weightEnd), \(o.weightSchedule.rawValue))")
        }
        let m = recipe.model, batch = recipe.training.batchSize, ranks = job.size
        let shards = setup.sessions.first?.shardIndices.count ?? 1
        var lines: [String] = []
        if let version = job.mpiVersion { lines.append("data-parallel over \(ranks) ranks (\(version)); rank 0 logs and writes checkpoints") }
        lines.append("recipe \(file): \(objectives.joined(separator: ", ")), mixing \(recipe.mixing.rawValue)")
        lines.append("model d=\(m.dModel) L=\(m.layers) H=\(m.heads) T=\(m.seqLen) "
            + (ranks > 1 ? "B=\(batch) per rank × \(ranks) ranks = \(batch * ranks) per step" : "B=\(batch)")
            + (shards > 1 ? " (\(shards) data shards per \(ranks > 1 ? "rank" : "process"))" : "")
            + ", \(setup.parameters.count.formatted()) parameters; data: \(data.summary)")
        return lines
    }

    /// Restores the checkpoint `choice` names — `auto`: the newest in `training.output`; a
    /// path; nil: the recipe's `checkpoint.resume` — and returns the steps it had done (0
    /// without one). The recipe may differ from the checkpoint's in run-length keys only,
    /// unless `overriding`.
    public func resume(_ choice: String?, overriding: Bool = false) throws -> Int {
        let choice: String? = choice ?? {
            switch recipe.checkpoint.resume {
            case .none: nil
            case .auto: "auto"
            case .file(let path): path.absolute
            }
        }()
        guard let choice else { return 0 }
        let path = try Self.checkpointToResume(choice, folder: recipe.training.output)
        let contents = try Checkpoint.read(path)
        let differing = try Recipe.differences(contents.metadata["recipe"] ?? "", recipe.yamlText())
        if !differing.isEmpty && !overriding {
            throw TrainError("\(path): the recipe differs from the one the run was trained with at \(differing.joined(separator: ", ")); "
                + "only run-length keys (\(Recipe.runLengthKeys.sorted().joined(separator: ", "))) may change on resume, "
                + "or pass --override-on-resume")
        }
        let start = try trainer.restore(contents, path: path)
        log("resuming \(path) after step \(start)" + (differing.isEmpty ? "" : " (overriding \(differing.joined(separator: ", ")))"))
        return start
    }

    /// `auto`: the newest checkpoint in the run folder; otherwise the file named.
    static func checkpointToResume(_ choice: String, folder: String) throws -> String {
        guard choice == "auto" else { return choice }
        guard let newest = Trainer.checkpoints(in: folder).last else {
            throw TrainError("--resume auto: no checkpoint-*.safetensors in \(folder) to resume from")
        }
        return newest.path
    }

    /// Trains from step `start` (what `resume` returned; every rank must agree) to the
    /// recipe's end, or until `stopAfter` steps or `stopRequested()`, with a checkpoint.
    public func train(from start: Int, stopAfter: Int? = nil, stopRequested: () -> Bool = { false }) throws -> Trainer.Outcome {
        try DataParallel.checkSameStart(start, communicator: job.communicator)
        return try trainer.run(from: start, stopAfter: stopAfter, stopRequested: stopRequested)
    }

    /// The first text-continuing objective's sampler, compiled, with its name and the first
    /// `promptBytes` held-out bytes as a prompt; nil where no objective continues text or the
    /// data has no text.
    public func textSample(promptBytes: Int, settings: TextSampler.Settings = .init()) throws
        -> (objective: String, prompt: [Int32], sampler: TextSampler)? {
        guard let corpus = data.text, let session = setup.sessions.first(where: { $0.instance.plugin.canContinueText }) else { return nil }
        let sampler = try TextSampler(instance: session.instance, parameters: setup.parameters, backbone: setup.backbone,
                                      seqLen: recipe.model.seqLen, settings: settings)
        try sampler.compile(on: backend)
        return (session.name, Array(corpus.validation.prefix(promptBytes)).map(Int32.init), sampler)
    }
}
