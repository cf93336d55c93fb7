import CHybridPlugin
import HybridCore
import HybridNN
import HybridPlugins
import HybridRecipe

/// Turns a recipe into live objects: plugins loaded and checked against the recipe, the
/// shared backbone, each objective's graph built, the parameters allocated and every graph
/// compiled on the backend.
public struct RunSetup {
    public let recipe: Recipe
    public let parameters: ParameterStore
    public let backbone: Backbone
    public let sessions: [ObjectiveSession]
    public let backend: Backend

    /// The plugin search path a recipe implies: its `plugin_paths`, then the standard ones.
    public static func searchPath(for recipe: Recipe) -> PluginSearchPath {
        .standard(recipeFolders: recipe.pluginPaths.map(\.absolute))
    }

    /// Loads every objective's plugin and makes its instance, checking the recipe's
    /// `config:` section against the keys (and their rules) the plugin declares; what only the
    /// plugin's create can refuse is reported at the objective's `config` node too.
    public static func instances(for recipe: Recipe, file: String) throws -> [ObjectiveInstance] {
        let path = searchPath(for: recipe)
        var errors: [RecipeError] = []
        var result: [ObjectiveInstance] = []
        for (i, objective) in recipe.objectives.enumerated() {
            let plugin = try PluginLoader.load(objective.pluginPath ?? objective.plugin, searchPath: path)
            do {
                let config = try resolvePluginConfig(objective.config, keys: plugin.configKeys,
                                                     keyPath: "objectives[\(i)].config")
                result.append(try ObjectiveInstance(plugin: plugin, config: config, setup: ObjectiveSetup(
                    dModel: recipe.model.dModel, seqLen: recipe.model.seqLen, seed: UInt64(bitPattern: Int64(recipe.training.seed)))))
            } catch let e as RecipeErrors {
                errors += e.errors
            } catch PluginError.pluginFailed(_, "create", let message) {
                errors.append(RecipeError(at: objective.config.mark, keyPath: "objectives[\(i)].config",
                                          reason: "the \(plugin.name) plugin refuses it: \(message)"))
            }
        }
        if !errors.isEmpty { throw RecipeErrors(errors) }
        return result
    }

    /// The training graphs of `instances` (each objective's batch size, or
    /// `training.batch_size`) over `parameters`, declared but not allocated, between the two
    /// looks of the memory budget; with the second.
    public static func sessions(for recipe: Recipe, file: String, instances: [ObjectiveInstance], parameters: ParameterStore, backbone: Backbone,
                                shards: Range<Int> = 0..<1, log: @escaping (String) -> Void) throws -> (sessions: [ObjectiveSession], budget: MemoryBudget) {
        try MemoryBudget.beforeBuild(recipe, instances: instances).check(recipe, file: file)
        let seed = UInt64(bitPattern: Int64(recipe.training.seed))
        let sessions = try zip(recipe.objectives, instances).map { objective, instance in
            try ObjectiveSession(name: objective.name, weight: (objective.weight, objective.weightEnd, Self.kind(objective.weightSchedule)),
                                 instance: instance, parameters: parameters,
                                 backbone: backbone, batchSize: objective.batchSize ?? recipe.training.batchSize,
                                 seqLen: recipe.model.seqLen, seed: seed, shards: shards, log: log)
        }
        let budget = MemoryBudget.ofGraphs(recipe, parameters: parameters, sessions: sessions)
        try budget.check(recipe, file: file)
        return (sessions, budget)
    }

    static func kind(_ shape: ScheduleShape) -> hybrid_schedule_kind {
        switch shape {
        case .constant: return HYBRID_SCHEDULE_CONSTANT
        case .linear: return HYBRID_SCHEDULE_LINEAR
        case .cosine: return HYBRID_SCHEDULE_COSINE
        }
    }

    public static func backboneConfig(_ model: HybridRecipe.ModelConfig) -> BackboneConfig {
        BackboneConfig(dModel: model.dModel, layers: model.layers, heads: model.heads, maxLength: model.seqLen,
                       mlpRatio: model.mlpRatio, vocabulary: Int(HYBRID_VOCAB), imageExperts: model.imageExperts)
    }

    /// Builds the training graphs (each objective's batch size, or `training.batch_size`), allocates the parameters (initialized from
    /// the recipe's seed) and compiles. Each batch is drawn as the data shards `shards`
    /// (rank r of a data-parallel run holding K per rank draws r·K..<(r+1)·K).
    public init(recipe: Recipe, file: String, backend: Backend, shards: Range<Int> = 0..<1, log: @escaping (String) -> Void) throws {
        self.recipe = recipe
        self.backend = backend
        let instances = try Self.instances(for: recipe, file: file)
        let parameters = ParameterStore()
        let backbone = Backbone(config: Self.backboneConfig(recipe.model))
        let seed = UInt64(bitPattern: Int64(recipe.training.seed))
        self.parameters = parameters
        self.backbone = backbone
        sessions = try Self.sessions(for: recipe, file: file, instances: instances, parameters: parameters, backbone: backbone,
                                     shards: shards, log: log).sessions
        parameters.materialize(seed: seed, memory: backend.parameterMemory(), moments: MomentPrecision(recipe.optimizer.moments))
        if let initFrom = recipe.training.initFrom {
            let kept = try Checkpoint.load(Checkpoint.read(initFrom.absolute), into: parameters, path: initFrom.absolute, requireAll: false)
            log("initialised from \(initFrom.written)" + (kept.isEmpty ? ""
                : "; \(kept.count) parameters it lacks keep their initial values: \(kept.joined(separator: ", "))"))
        }
        // The objectives run one after another in a step: their activations share memory.
        for (s, exe) in zip(sessions, try backend.compile(oneAtATime: sessions.map(\.graph))) { try s.bind(exe) }
        for (i, (objective, session)) in zip(recipe.objectives, sessions).enumerated() {
            guard let teacher = objective.teacher else { continue }
            guard session.instance.plugin.dataKind == .images else {
                throw TrainError("objective \(objective.name) has a teacher, which only image objectives can run for now")
            }
            let contents = try Checkpoint.read(teacher.absolute)
            try Self.checkAgreement(of: session.instance, model: recipe.model, at: "objectives[\(i)].config", file: file,
                                    withTeacher: contents, path: teacher.absolute)
            try session.attachTeacher(contents, path: teacher.absolute, backbone: backbone, backend: backend)
            log("objective \(objective.name): teacher \(teacher.written) (frozen)")
        }
        for session in sessions where session.ownModelBatch > 0 {
            try session.attachOwnModel(parameters: parameters, backbone: backbone, backend: backend)
        }
    }

    /// The teacher runs on the student's backbone, so its recipe's `model.image_experts` must
    /// be the student's. A plugin names what it assumes of its teacher `teacher_<key>`
    /// (distill's teacher_prediction): the teacher checkpoint's own recipe must give `<key>` of
    /// its image objective the same value, or the frozen teacher's outputs would be misread in
    /// silence.
    static func checkAgreement(of instance: ObjectiveInstance, model: HybridRecipe.ModelConfig, at keyPath: String, file: String,
                               withTeacher contents: Checkpoint.Contents, path: String) throws {
        let stored = try contents.recipe(checkpoint: path, requireData: false)
        guard stored.model.imageExperts == model.imageExperts else {
            throw TrainError("\(file): model.image_experts is \(model.imageExperts), but the teacher \(path) was trained with "
                + "image_experts \(stored.model.imageExperts); expected image_experts: \(stored.model.imageExperts)")
        }
        let teachers = try instances(for: stored, file: path)
        // A checkpoint without the image heads is refused by attachTeacher, next.
        guard let k = teachers.firstIndex(where: { $0.plugin.dataKind == .images }) else { return }
        for (key, value, name) in instance.teacherAssumptions {
            guard let trained = teachers[k].value(of: name), trained != value else { continue }
            throw TrainError("\(file): \(keyPath).\(key) is \(value.recipeText), but the teacher \(path) was trained with "
                + "\(name) \(trained.recipeText) (its recipe's objectives[\(k)].config.\(name)); expected \(key): \(trained.recipeText)")
        }
    }
}

extension MomentPrecision {
    /// The recipe's `optimizer.moments`.
    init(_ moments: OptimizerConfig.Moments) {
        switch moments {
        case .fp32: self = .fp32
        case .bfloat16: self = .bfloat16
        }
    }
}
