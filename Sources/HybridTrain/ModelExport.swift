import CHybridPlugin
import Foundation
import HybridRecipe

/// A checkpoint as a folder that tools without hybrid can read (`hybrid export`):
///
///     model.safetensors   every model parameter, F32, by its plain name (no optimizer state)
///     config.json         the architecture: sizes, token ids, layer-norm eps, activation
///     recipe.yaml         the resolved recipe the model was trained with
///
/// `python/hybrid_numpy.py` rebuilds the backbone and byte head from it with numpy alone.
public enum ModelExport {
    public static let formatTag = "hybrid-export-1"

    public struct Summary: Sendable {
        public let tensors: Int
        public let parameters: Int
        public let step: String
    }

    /// Writes the folder (created if missing; each file replaced atomically).
    @discardableResult
    public static func write(checkpoint path: String, to folder: String) throws -> Summary {
        let contents = try Checkpoint.read(path)
        let recipe = try contents.recipe(checkpoint: path, requireData: false)
        let names = contents.tensors.keys.filter { !$0.hasPrefix("optimizer.") }.sorted()
        let tensors = names.map { (name: $0, shape: contents.tensors[$0]!.shape) }
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw TrainError("\(folder): cannot create the export folder: \(error.localizedDescription)")
        }
        let header = try Checkpoint.header(tensors, metadata: ["format": "pt", "exported_by": formatTag])
        try AtomicFile.write(to: folder + "/model.safetensors") { file in
            header.withUnsafeBytes { file.append($0) }
            contents.bytes.withUnsafeBytes { raw in
                for name in names {
                    let range = contents.tensors[name]!.range
                    file.append(UnsafeRawBufferPointer(rebasing: raw[(contents.dataStart + range.lowerBound)..<(contents.dataStart + range.upperBound)]))
                }
            }
        }
        let config = try JSONSerialization.data(withJSONObject: architecture(recipe, step: contents.metadata["step"]),
                                                options: [.prettyPrinted, .sortedKeys])
        try AtomicFile.write(to: folder + "/config.json") { file in config.withUnsafeBytes { file.append($0) } }
        let text = Data(recipe.yamlText().utf8)
        try AtomicFile.write(to: folder + "/recipe.yaml") { file in text.withUnsafeBytes { file.append($0) } }
        let parameters = tensors.reduce(0) { $0 + $1.shape.reduce(1, *) }
        return Summary(tensors: tensors.count, parameters: parameters, step: contents.metadata["step"] ?? "?")
    }

    /// config.json: what a reader needs to rebuild the byte model (see the Backbone's and
    /// the attention kernel's doc comments for the arithmetic these name).
    static func architecture(_ recipe: Recipe, step: String?) -> [String: Any] {
        let m = recipe.model
        return [
            "format": formatTag,
            "architecture": "pre-LN transformer over bytes: tok_emb + pos_emb, blocks of attention and MLP, ln_f, head",
            "d_model": m.dModel, "layers": m.layers, "heads": m.heads, "max_positions": m.seqLen, "mlp_ratio": m.mlpRatio,
            "vocabulary": Int(HYBRID_VOCAB), "byte_vocabulary": Int(HYBRID_BYTE_VOCAB),
            "tokens": ["mask": Int(HYBRID_TOKEN_MASK), "bos": Int(HYBRID_TOKEN_BOS), "eos": Int(HYBRID_TOKEN_EOS), "pad": Int(HYBRID_TOKEN_PAD)],
            "layer_norm_eps": 1e-5, "activation": "gelu_tanh",
            "attention": "qkv = x·Wᵀ + b holds q | k | v along the last axis, head h in columns h·D..<(h+1)·D of each; scores scaled by 1/sqrt(D)",
            "linear": "y = x·Wᵀ + b, W [out, in]",
            "image_experts": m.imageExperts,
            "objectives": recipe.objectives.map { ["name": $0.name, "plugin": $0.plugin] },
            "step": step.flatMap(Int.init) ?? 0,
        ]
    }
}
