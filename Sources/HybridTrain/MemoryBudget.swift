import Foundation
import HybridCore
import HybridPlugins
import HybridRecipe

/// What a run will hold in memory, estimated from its recipe before anything large is
/// allocated, against what the machine has: a run that cannot fit is refused with the
/// estimate, the limit and the recipe keys that drive it (exit 65), where it would otherwise
/// die in an allocation or spend minutes building a graph.
///
/// Two looks, in fp32. Before any graph is built (`beforeBuild`), from the recipe's numbers:
/// the backbone's weight matrices, byte table, positions and head with AdamW's gradient and
/// two moments, and per text objective the activations backpropagation keeps — per position
/// and layer the block's (9 + 2·mlp_ratio)·d_model values (attention keeps no T×T scores), and
/// the byte logits — with its windows and held-out batches; an image objective's
/// sequence is its plugin's to know, so it waits for the second look. Once the graphs are
/// built (`ofGraphs`), before the parameters and arenas are allocated: the declared parameters,
/// each graph's forward activations, and its inputs for the held-out batches drawn once.
/// Biases, LayerNorms and the backward's reused buffers are left out of the first look, so both
/// read near, mostly under, a run's peak RSS.
public struct MemoryBudget: Sendable {
    public struct Part: Sendable {
        public let what: String
        public let bytes: Double
        /// The recipe keys (paths and values) that drive this part.
        public let keys: [Key]
    }

    public struct Key: Equatable, Sendable {
        public let path: String
        /// The value as the recipe holds it.
        public let value: String

        init(path: String, value: Int) { self.init(path: path, value: String(value)) }
        init(path: String, value: String) {
            self.path = path
            self.value = value
        }
    }

    public let parts: [Part]
    public var bytes: Double { parts.reduce(0) { $0 + $1.bytes } }

    /// The model's shape keys.
    private static func shapeKeys(_ m: ModelConfig) -> [Key] {
        [Key(path: "model.d_model", value: m.dModel), Key(path: "model.layers", value: m.layers),
         Key(path: "model.seq_len", value: m.seqLen), Key(path: "model.mlp_ratio", value: m.mlpRatio)]
    }

    /// Objective `i`'s batch size and the key that sets it.
    private static func batchKey(_ recipe: Recipe, _ i: Int) -> Key {
        let objective = recipe.objectives[i]
        return Key(path: objective.batchSize == nil ? "training.batch_size" : "objectives[\(i)].batch_size",
                   value: objective.batchSize ?? recipe.training.batchSize)
    }

    /// fp32 values and gradients, and both moments in 8 bytes (fp32) or 4 (a bfloat16 pair).
    static func bytesPerParameter(_ recipe: Recipe) -> Double { recipe.optimizer.moments == .fp32 ? 16 : 12 }

    static func momentsKey(_ recipe: Recipe) -> Key {
        Key(path: "optimizer.moments", value: recipe.optimizer.moments.rawValue)
    }

    /// The first look, from the recipe's numbers alone: a training run of `recipe` with its
    /// objectives' plugins.
    public static func beforeBuild(_ recipe: Recipe, instances: [ObjectiveInstance]) -> MemoryBudget {
        let m = recipe.model, d = Double(m.dModel), T = Double(m.seqLen), L = Double(m.layers), r = Double(m.mlpRatio)
        let shape = shapeKeys(m)
        var parts = [Part(what: "parameters with their gradients and AdamW moments", bytes: bytesPerParameter(recipe) * parameters(m),
                          keys: shape + [momentsKey(recipe)])]
        for (i, (objective, instance)) in zip(recipe.objectives, instances).enumerated() where instance.plugin.dataKind == .text {
            let batch = batchKey(recipe, i), B = Double(objective.batchSize ?? recipe.training.batchSize)
            let perPosition = L * (9 + 2 * r) * d + 2 * Double(byteVocabulary)
            parts.append(Part(what: "\(objective.name)'s activations", bytes: 4 * B * T * perPosition, keys: [batch] + shape))
            // A window's bytes, then each held-out batch's tokens, targets and weights.
            let windows = B * (T + Double(instance.plugin.windowExtra)) + 12 * B * T * Double(recipe.training.evalBatches + 1)
            parts.append(Part(what: "\(objective.name)'s windows and held-out batches", bytes: windows,
                              keys: [batch, Key(path: "training.eval_batches", value: recipe.training.evalBatches), shape[2]]))
        }
        return MemoryBudget(parts: parts)
    }

    /// The second look, once the training graphs are built over `parameters` and before
    /// anything is allocated for them.
    public static func ofGraphs(_ recipe: Recipe, parameters: ParameterStore, sessions: [ObjectiveSession]) -> MemoryBudget {
        let shape = shapeKeys(recipe.model)
        var parts = [Part(what: "parameters with their gradients and AdamW moments", bytes: bytesPerParameter(recipe) * Double(parameters.count),
                          keys: shape + [momentsKey(recipe)])]
        for (i, session) in sessions.enumerated() {
            var activations = 0.0, inputs = 0.0
            for t in session.graph.tensors {
                if t.storage == .activation { activations += Double(t.count) }
                if t.storage == .input { inputs += Double(t.count) }
            }
            let batch = batchKey(recipe, i)
            parts.append(Part(what: "\(session.name)'s activations", bytes: 4 * activations, keys: [batch] + shape))
            parts.append(Part(what: "\(session.name)'s held-out batches", bytes: 4 * inputs * Double(recipe.training.evalBatches + 1),
                              keys: [batch, Key(path: "training.eval_batches", value: recipe.training.evalBatches), shape[2]]))
        }
        return MemoryBudget(parts: parts)
    }

    /// A checkpoint's model, to sample or evaluate: its parameters alone (fp32).
    public static func inference(_ recipe: Recipe) -> MemoryBudget {
        MemoryBudget(parts: [Part(what: "parameters", bytes: 4 * parameters(recipe.model), keys: shapeKeys(recipe.model))])
    }

    static let byteVocabulary = 256

    /// The backbone's weight matrices (an image expert's feed-forward pair again), the byte
    /// table, the positions and one byte head.
    static func parameters(_ m: ModelConfig) -> Double {
        let d = Double(m.dModel), r = Double(m.mlpRatio)
        let block = 4 * d * d + (m.imageExperts ? 2 : 1) * 2 * r * d * d
        return Double(m.layers) * block + (2 * Double(byteVocabulary) + Double(m.seqLen)) * d
    }

    /// The memory a run may use: `HYBRID_MEMORY_LIMIT` (bytes, or with a K, M, G or T suffix),
    /// else the smaller of the machine's physical memory and its cgroup's limit.
    public static func limit(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> (bytes: Double, source: String) {
        if let text = environment["HYBRID_MEMORY_LIMIT"] {
            let units: [Character: Double] = ["K": 0x1p10, "M": 0x1p20, "G": 0x1p30, "T": 0x1p40]
            let suffix = text.last.flatMap { units[Character($0.uppercased())] }
            guard let number = Double(suffix == nil ? text : String(text.dropLast())), number > 0, number.isFinite else {
                throw TrainError("HYBRID_MEMORY_LIMIT is \"\(text)\"; expected a size in bytes, like 8589934592 or 8G")
            }
            return (number * (suffix ?? 1), "HYBRID_MEMORY_LIMIT")
        }
        let physical = Double(ProcessInfo.processInfo.physicalMemory)
        if let text = try? String(contentsOfFile: "/sys/fs/cgroup/memory.max", encoding: .utf8),
           let cgroup = Double(text.trimmingCharacters(in: .whitespacesAndNewlines)), cgroup < physical {
            return (cgroup, "the cgroup's memory.max")
        }
        return (physical, "physical memory")
    }

    /// "431.2 MiB".
    public static func size(_ bytes: Double) -> String {
        let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var value = bytes, unit = 0
        while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(Int(value)) bytes" : String(format: "%.1f %@", value, units[unit])
    }

    /// "estimated 431.2 MiB (parameters … 23.0 MiB, causal's activations …)".
    public var summary: String {
        "estimated \(Self.size(bytes)) (" + parts.map { "\($0.what) \(Self.size($0.bytes))" }.joined(separator: ", ") + ")"
    }

    /// Refuses (as a recipe error, naming the keys behind the largest parts with their
    /// values' places) an estimate above the limit.
    public func check(_ recipe: Recipe, file: String) throws {
        let (limit, source) = try Self.limit()
        guard bytes > limit else { return }
        var keys: [Key] = []
        for part in parts.sorted(by: { $0.bytes > $1.bytes }) where part.bytes >= 0.1 * bytes {
            for key in part.keys where !keys.contains(key) { keys.append(key) }
        }
        let named = keys.map { "\($0.path) = \($0.value) (\(recipe.places[$0.path]?.description ?? "default"))" }
        throw RecipeErrors([RecipeError(at: Mark(file: file), reason: "the run needs more memory than it may use: \(summary), "
                                            + "over the limit of \(Self.size(limit)) (\(source)); driven by \(named.joined(separator: ", "))",
                                        expected: "a run that fits (smaller values of these keys, or a larger HYBRID_MEMORY_LIMIT)")])
    }
}
