import HybridCore
import HybridPlugins
import HybridRecipe

/// prepare_batch's three outputs, as arrays.
struct PreparedBatch: Equatable {
    var tokens: [Int32]
    var targets: [Int32]
    var weights: [Float]
}

extension ObjectiveInstance {
    /// Makes an instance the way a run does: `recipeConfig` is an objective's `config:`
    /// mapping as YAML text (empty for every default), checked and filled in by
    /// `resolvePluginConfig` against the plugin's keys.
    convenience init(plugin: LoadedPlugin, recipeConfig: String = "", setup: ObjectiveSetup) throws {
        let node = try YAMLParser.parse(recipeConfig, file: "config")
        let config = try resolvePluginConfig(node, keys: plugin.configKeys, keyPath: "config")
        try self.init(plugin: plugin, config: config, setup: setup)
    }

    /// Runs prepare_batch on `text` (B windows back to back) into fresh arrays, with the real
    /// host API and `rng` for objectives that draw random numbers.
    func prepare(_ text: String, batchSize: Int, seqLen: Int, rng: UnsafeMutablePointer<RandomStream>? = nil,
                 progress: Float = 0) throws(PluginError) -> PreparedBatch {
        let bytes = Array(text.utf8)
        let count = batchSize * seqLen
        var batch = PreparedBatch(tokens: .init(repeating: 0, count: count),
                                  targets: .init(repeating: 0, count: count),
                                  weights: .init(repeating: 0, count: count))
        var failure: PluginError?
        bytes.withUnsafeBufferPointer { text in
            batch.tokens.withUnsafeMutableBufferPointer { tokens in
                batch.targets.withUnsafeMutableBufferPointer { targets in
                    batch.weights.withUnsafeMutableBufferPointer { weights in
                        do throws(PluginError) {
                            try prepareBatch(text: text, batchSize: batchSize, seqLen: seqLen,
                                             tokens: tokens, targets: targets, lossWeights: weights,
                                             api: HostAPI.table, rng: rng.map(OpaquePointer.init), progress: progress)
                        } catch {
                            failure = error
                        }
                    }
                }
            }
        }
        if let failure { throw failure }
        return batch
    }
}
