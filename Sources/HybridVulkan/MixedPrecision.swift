import HybridCore

/// `precision: mixed`: which activations a graph keeps in bfloat16 (2-byte, fp32's exponent
/// range, 8 bits of mantissa). The outputs of linear, attention and GELU nodes and their
/// gradients: most of a block's activation bytes, and what the next product reads. Layer
/// norm, residual sums, embeddings, softmax probabilities, losses, inputs and every parameter,
/// gradient and AdamW moment stay fp32, as under PyTorch's autocast; every kernel computes and
/// accumulates in fp32 whatever its operands hold (Shaders/common.glsl).
enum MixedPrecision {
    static func halved(_ graph: Graph) -> Set<TensorID> {
        var result = Set<TensorID>()
        for node in graph.nodes {
            switch node.op {
            case .linear, .attention, .gelu:
                let t = graph[node.output]
                guard t.storage == .activation else { continue }
                result.insert(node.output)
                if let g = t.gradient { result.insert(g) }
            default: continue
            }
        }
        return result
    }

    /// Operand buffer-index bit that marks a bfloat16 tensor (common.glsl's HALF).
    static let halfBit: UInt32 = 1 << 31
}
