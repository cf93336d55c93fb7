/// A training recipe: the model, the data, the objectives and how to train them, decoded from
/// YAML and checked. `Recipe.load(path:overrides:)` reads one; `yamlText()` writes it back with
/// every default filled in.
public struct Recipe: Equatable, Sendable {
    public enum Device: String, CaseIterable, Sendable { case auto, cpu, vulkan }
    /// How objectives share a step: `sum` runs every objective every step and adds their
    /// weighted gradients; `sample` runs one per step, drawn with the weights as probabilities.
    public enum Mixing: String, CaseIterable, Sendable { case sum, sample }
    /// `fp32` everywhere (the default and the reference), or `mixed`: activations in bfloat16
    /// with fp32 arithmetic, parameters, gradients and AdamW (the Vulkan backend only).
    public enum Precision: String, CaseIterable, Sendable { case fp32, mixed }

    /// Which backend runs the graph (`auto`: a real GPU if there is one, else the CPU).
    public var device: Device
    public var precision: Precision
    /// Folders searched for plugins before the usual places.
    public var pluginPaths: [RecipePath]
    public var model: ModelConfig
    public var data: DataConfig
    public var objectives: [ObjectiveConfig]
    public var mixing: Mixing
    public var optimizer: OptimizerConfig
    public var schedule: ScheduleConfig
    public var training: TrainingConfig
    public var checkpoint: CheckpointConfig
    /// Where each value was written; empty for a recipe built in code.
    public var places = RecipePlaces()

    public init(device: Device, precision: Precision = .fp32, pluginPaths: [RecipePath], model: ModelConfig, data: DataConfig,
                objectives: [ObjectiveConfig], mixing: Mixing = .sum, optimizer: OptimizerConfig, schedule: ScheduleConfig,
                training: TrainingConfig, checkpoint: CheckpointConfig = CheckpointConfig()) {
        self.device = device
        self.precision = precision
        self.pluginPaths = pluginPaths
        self.model = model
        self.data = data
        self.objectives = objectives
        self.mixing = mixing
        self.optimizer = optimizer
        self.schedule = schedule
        self.training = training
        self.checkpoint = checkpoint
    }
}

/// Where each value of a recipe was written (`file:line:column`, or `--set key.path`), by key
/// path as errors name it (`model.d_model`, `objectives[2].batch_size`); a default has none.
/// Takes no part in equality: recipes that say the same are equal wherever they said it.
public struct RecipePlaces: Equatable, Sendable {
    private var marks: [String: Mark] = [:]

    public init() {}

    /// Every node of `root` (mappings and lists too) under its key path.
    init(_ root: YAMLNode) {
        func walk(_ node: YAMLNode, _ keyPath: String) {
            marks[keyPath] = node.mark
            switch node.content {
            case .mapping(let entries): for e in entries { walk(e.value, KeyPathText.child(keyPath, e.key)) }
            case .sequence(let items): for (i, item) in items.enumerated() { walk(item, KeyPathText.index(keyPath, i)) }
            case .scalar: break
            }
        }
        walk(root, "")
    }

    public subscript(keyPath: String) -> Mark? { marks[keyPath] }

    public static func == (_: RecipePlaces, _: RecipePlaces) -> Bool { true }
}

/// A path as the recipe wrote it, and the absolute path it names (relative to the recipe's folder).
public struct RecipePath: Equatable, Sendable {
    public var written: String
    public var absolute: String

    public init(written: String, absolute: String) {
        self.written = written
        self.absolute = absolute
    }
}

/// The backbone's shape.
public struct ModelConfig: Equatable, Sendable {
    public var dModel: Int
    public var layers: Int
    /// Divides `dModel`.
    public var heads: Int
    public var seqLen: Int
    /// The MLP's hidden width is `mlpRatio * dModel`.
    public var mlpRatio: Int
    /// Always 0 for now.
    public var dropout: Float
    /// Image positions take their own feed-forward weights in every block (`image_experts`).
    public var imageExperts: Bool

    public init(dModel: Int, layers: Int, heads: Int, seqLen: Int, mlpRatio: Int, dropout: Float, imageExperts: Bool = false) {
        self.dModel = dModel
        self.layers = layers
        self.heads = heads
        self.seqLen = seqLen
        self.mlpRatio = mlpRatio
        self.dropout = dropout
        self.imageExperts = imageExperts
    }
}

public struct DataConfig: Equatable, Sendable {
    /// Paths or glob patterns as written, relative to the recipe's folder.
    public var text: [String]
    /// The absolute paths of the files the patterns match, in pattern order, each file once.
    public var textFiles: [String]
    /// Images for image objectives: a CSV (or gzip'd CSV) of pixel rows with a label each, or
    /// a folder of PNG files (class folders, or a metadata.jsonl with captions).
    public var images: RecipePath?
    /// The side every image has (a CSV's images are this square; a folder's are resampled to it
    /// with `resize`, else refused unless they already are).
    public var imageSize: Int
    /// 1 (grey) or 3 (RGB): what a folder's images are converted to.
    public var imageChannels: Int
    public var resize: Bool
    /// The metadata.jsonl key that holds each image's caption.
    public var captionColumn: String
    /// The metadata.jsonl key whose values are the images' classes (nil: none).
    public var labelColumn: String?
    /// The share of the text, and of the images, held out for evaluation, in (0, 0.5].
    public var validationFraction: Float

    public init(text: [String], textFiles: [String], images: RecipePath? = nil, imageSize: Int = 8, imageChannels: Int = 1,
                resize: Bool = false, captionColumn: String = "text", labelColumn: String? = nil, validationFraction: Float) {
        self.text = text
        self.textFiles = textFiles
        self.images = images
        self.imageSize = imageSize
        self.imageChannels = imageChannels
        self.resize = resize
        self.captionColumn = captionColumn
        self.labelColumn = labelColumn
        self.validationFraction = validationFraction
    }
}

/// How a scheduled value moves from its start to its end over a run (the plugin ABI's
/// hybrid_schedule_kind, by name).
public enum ScheduleShape: String, CaseIterable, Equatable, Sendable { case constant, linear, cosine }

public struct ObjectiveConfig: Equatable, Sendable {
    /// A plugin name like `causal`, or a path to a plugin library, as written.
    public var plugin: String
    /// The absolute path when `plugin` contains a `/`; nil for a name the loader looks up.
    public var pluginPath: String?
    /// Unique among the recipe's objectives; losses are logged under it.
    public var name: String
    /// The weight at the start of the run; it moves to `weightEnd` along `weightSchedule`.
    public var weight: Float
    public var weightEnd: Float
    public var weightSchedule: ScheduleShape
    /// Examples per step for this objective; nil: `training.batch_size`.
    public var batchSize: Int?
    /// A frozen model the objective runs while preparing batches (a distillation teacher),
    /// built by the objective itself over this checkpoint's weights.
    public var teacher: RecipePath?
    /// The objective's `config:` mapping as written (empty when absent), checked later against
    /// the keys the plugin declares with `resolvePluginConfig`. Its mark points at the config
    /// (or, when absent, at the objective).
    public var config: YAMLNode

    public init(plugin: String, pluginPath: String?, name: String, weight: Float, weightEnd: Float? = nil,
                weightSchedule: ScheduleShape = .constant, batchSize: Int? = nil, teacher: RecipePath? = nil, config: YAMLNode) {
        self.plugin = plugin
        self.pluginPath = pluginPath
        self.name = name
        self.weight = weight
        self.weightEnd = weightEnd ?? weight
        self.weightSchedule = weightSchedule
        self.teacher = teacher
        self.batchSize = batchSize
        self.config = config
    }

    /// The name an objective gets when the recipe gives none: the plugin name, or for a path
    /// the library's file name without its folder, `lib` prefix and extension
    /// (`plugins/libhybrid-objective-masked.so` → `hybrid-objective-masked`).
    public static func defaultName(forPlugin plugin: String) -> String {
        guard plugin.contains("/") else { return plugin }
        var name = Substring(plugin.split(separator: "/").last ?? "")
        if let dot = name.firstIndex(of: ".") { name = name[..<dot] }
        if name.hasPrefix("lib") && name.count > 3 { name = name.dropFirst(3) }
        return String(name)
    }
}

public struct OptimizerConfig: Equatable, Sendable {
    public enum Name: String, CaseIterable, Sendable { case adamw }
    /// How the AdamW moments are held: fp32, or bfloat16 pairs rounded stochastically (a
    /// third less optimizer memory).
    public enum Moments: String, CaseIterable, Sendable { case fp32, bfloat16 }

    public var name: Name
    public var lr: Float
    public var beta1: Float
    public var beta2: Float
    public var eps: Float
    public var weightDecay: Float
    /// The global gradient-norm limit; 0 turns clipping off.
    public var gradClip: Float
    public var moments: Moments

    public init(name: Name, lr: Float, beta1: Float, beta2: Float, eps: Float, weightDecay: Float, gradClip: Float, moments: Moments = .fp32) {
        self.name = name
        self.lr = lr
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
        self.gradClip = gradClip
        self.moments = moments
    }
}

public struct ScheduleConfig: Equatable, Sendable {
    public enum Name: String, CaseIterable, Sendable { case cosine, constant }

    public var name: Name
    public var warmupSteps: Int
    /// The learning rate a cosine schedule ends at, as a fraction of `lr`.
    public var minLRRatio: Float

    public init(name: Name, warmupSteps: Int, minLRRatio: Float) {
        self.name = name
        self.warmupSteps = warmupSteps
        self.minLRRatio = minLRRatio
    }
}

public struct TrainingConfig: Equatable, Sendable {
    /// What the CPU backend's backward recomputes instead of keeping: GELU and layer-norm
    /// outputs (`cheap`), or also the products that read them (`products`: less memory, about
    /// a tenth more arithmetic).
    public enum Recompute: String, CaseIterable, Sendable { case cheap, products }

    public var steps: Int
    public var batchSize: Int
    public var seed: Int
    public var evalEvery: Int
    public var evalBatches: Int
    public var logEvery: Int
    /// The run's folder, relative to the current directory (default `runs/<recipe file stem>`).
    public var output: String
    /// A checkpoint whose weights replace the initial ones, by name (fine-tuning, a student
    /// starting as its teacher).
    public var initFrom: RecipePath?
    public var recompute: Recompute

    public init(steps: Int, batchSize: Int, seed: Int, evalEvery: Int, evalBatches: Int, logEvery: Int,
                output: String, initFrom: RecipePath? = nil, recompute: Recompute = .cheap) {
        self.steps = steps
        self.batchSize = batchSize
        self.seed = seed
        self.evalEvery = evalEvery
        self.evalBatches = evalBatches
        self.logEvery = logEvery
        self.output = output
        self.initFrom = initFrom
        self.recompute = recompute
    }
}

/// When a run writes checkpoints, how many it keeps, and where it starts from.
public struct CheckpointConfig: Equatable, Sendable {
    public enum Resume: Equatable, Sendable {
        /// Start afresh.
        case none
        /// From the newest checkpoint in `training.output` (one must be there).
        case auto
        /// From this checkpoint.
        case file(RecipePath)
    }

    /// Steps between checkpoints; 0 writes one only at the end.
    public var every: Int
    /// How many of the newest checkpoints to keep (0: all); older ones are removed after a
    /// newer one is written, never before.
    public var keep: Int
    public var resume: Resume

    public init(every: Int = 0, keep: Int = 0, resume: Resume = .none) {
        self.every = every
        self.keep = keep
        self.resume = resume
    }
}
