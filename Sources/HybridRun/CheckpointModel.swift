import Foundation
import HybridCore
import HybridCPU
import HybridNN
import HybridPlugins
import HybridRecipe
import HybridTrain

/// A model rebuilt from a checkpoint: its recipe (from the metadata), its objectives'
/// plugins, the parameter store; `load()` fills the store once every graph that will run
/// has declared its parameters.
public struct CheckpointModel {
    public let path: String
    public let contents: Checkpoint.Contents
    public let recipe: Recipe
    public let instances: [ObjectiveInstance]
    public let parameters = ParameterStore()
    public let backbone: Backbone
    public let backend: Backend

    public var step: String { contents.metadata["step"] ?? "?" }

    /// `device`: the backend to run on; nil takes the device of the recipe the checkpoint was
    /// trained with. `log` gets the device lines.
    public init(path: String, device: Recipe.Device? = nil, log: (String) -> Void) throws {
        self.path = path
        contents = try Checkpoint.read(path)
        recipe = try contents.recipe(checkpoint: path, requireData: false)
        try MemoryBudget.inference(recipe).check(recipe, file: path)
        instances = try RunSetup.instances(for: recipe, file: path)
        backbone = Backbone(config: RunSetup.backboneConfig(recipe.model))
        backend = try BackendChoice.make(device ?? recipe.device, precision: recipe.precision, log: log)
    }

    /// The sampler of the objective that draws images (the one named `objective`, else the
    /// first that can), built for `count` images, loaded and compiled; with its objective's name.
    public func imageSampler(objective: String? = nil, count: Int) throws -> (name: String, sampler: ImageSampler) {
        let candidates = zip(recipe.objectives, instances).filter { $0.1.plugin.canDrawImages }
        guard let (config, instance) = objective.map({ name in candidates.first { $0.0.name == name } }) ?? candidates.first else {
            let names = recipe.objectives.map(\.name).joined(separator: ", ")
            throw TrainError("\(path): no objective \(objective.map { "named \($0) " } ?? "")can draw images (objectives: \(names))")
        }
        let sampler = try ImageSampler(instance: instance, parameters: parameters, backbone: backbone, count: count, seqLen: recipe.model.seqLen)
        try load()
        try sampler.compile(on: backend)
        return (config.name, sampler)
    }

    /// The sampler of the objective that continues text, or with `infilling` fills in masks
    /// (the one named `objective`, else the first that can), over a window of `seqLen` (nil:
    /// the model's context), loaded and compiled; with its objective's name.
    public func textSampler(objective: String? = nil, infilling: Bool = false, seqLen: Int? = nil, settings: TextSampler.Settings = .init(),
                            kvCache: Bool = true) throws -> (name: String, sampler: TextSampler) {
        let candidates = zip(recipe.objectives, instances).filter { infilling ? $0.1.plugin.canInfill : $0.1.plugin.canContinueText }
        guard let (config, instance) = objective.map({ name in candidates.first { $0.0.name == name } }) ?? candidates.first else {
            let names = recipe.objectives.map(\.name).joined(separator: ", ")
            throw TrainError("\(path): no objective \(objective.map { "named \($0) " } ?? "")can \(infilling ? "fill in masks" : "continue text") (objectives: \(names))")
        }
        let sampler = try TextSampler(instance: instance, parameters: parameters, backbone: backbone, seqLen: seqLen ?? recipe.model.seqLen,
                                      settings: settings, kvCache: kvCache)
        try load()
        try sampler.compile(on: backend)
        return (config.name, sampler)
    }

    /// Allocates the parameters the graphs built so far declared and fills them from the
    /// checkpoint; later graphs over the same parameters need no second load.
    public func load() throws {
        guard !parameters.isMaterialized else { return }
        parameters.materialize(seed: 0, memory: backend.parameterMemory())
        try Checkpoint.load(contents, into: parameters, path: path)
    }
}
