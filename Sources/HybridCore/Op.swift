/// The ops a graph is made of. Each op's math (forward and backward side by side) lives in
/// a backend's kernel file; this enum records what a node computes and which tensors its
/// backward reads, which is all autodiff and memory planning need.

/// Which keys each query row may see. Every mask here is a contiguous key range per row.
public enum AttentionMask: Sendable, Equatable {
    case causal
    case bidirectional
    /// Rows before `length` see the whole prefix; later rows are causal.
    case prefix(length: Int)
    /// Rows before `start` are causal; rows from `start` on (a block at the end, e.g. an image
    /// after its caption, as in Transfusion) see every position.
    case tailBlock(start: Int)

    /// The visible keys of row `t` in a sequence of `length` positions.
    public func keyRange(row t: Int, length: Int) -> Range<Int> {
        switch self {
        case .causal: return 0..<(t + 1)
        case .bidirectional: return 0..<length
        case .prefix(let p): return 0..<(t < p ? min(p, length) : t + 1)
        case .tailBlock(let start): return 0..<(t < start ? t + 1 : length)
        }
    }
}

/// What a weighted loss divides its weighted sum by.
public enum LossNormalizer: Sendable, Equatable {
    /// max(Σ w, 1): the weighted mean over the scored rows (masked modelling, next-byte).
    case weights
    /// max(N, 1), the rows: a weighted sum per row, for weights that carry an ELBO's factors
    /// (masked diffusion's 1/t), so the loss is a bound per position.
    case rows
}

public enum Op: Sendable, Equatable {
    /// ids int32 [N], table [V, C] → [N, C]
    case embedding
    /// x [N, K], weight [M, K], bias [M]? → [N, M]
    case linear(hasBias: Bool)
    /// a, b of one shape → same shape
    case add
    /// x [R, n], y [n] (repeated over rows) → [R, n]
    case addBroadcast
    /// elementwise a·b
    case mul
    /// s·x
    case scale(Float)
    /// x [N, C], weight [C], bias [C] → [N, C]; saves mean [N] and rstd [N]
    case layerNorm(eps: Float)
    /// GELU, tanh approximation
    case gelu
    /// qkv [B, T, 3C] → [B, T, C]; FlashAttention's way on every backend: the probabilities
    /// are never stored (the backward recomputes them from a per-row log-sum-exp the backend
    /// keeps), and the backward reads the output (for rowsum(dO ∘ O))
    case attention(heads: Int, mask: AttentionMask)
    /// One generation step with a key/value cache: qkv [1, 1, 3C] of the token at `position`
    /// (int32 [1]); its key and value are written into keys/values [maxLength, C] (state) at
    /// that row, and the query attends to rows 0...position → [1, 1, C]. No backward.
    case attentionDecode(heads: Int)
    /// logits [N, V], targets int32 [N], weights [N] → scalar Σ w·CE / normaliser; saves probs [N, V]
    case crossEntropy(LossNormalizer)
    /// prediction [N, F], target [N, F], weights [N] → scalar (weighted mean-squared error)
    case mse
    /// x → scalar mean
    case mean
    /// x [B, T, C] → positions start..<start+length [B, length, C] (a block's image rows)
    case sequenceSlice(start: Int, length: Int)
    /// a [B, Ta, C], b [B, Tb, C] → [B, Ta + Tb, C], a's positions first
    case sequenceConcat

    public var name: String {
        switch self {
        case .embedding: return "embedding"
        case .linear: return "linear"
        case .add: return "add"
        case .addBroadcast: return "add_broadcast"
        case .mul: return "mul"
        case .scale: return "scale"
        case .layerNorm: return "layer_norm"
        case .gelu: return "gelu"
        case .attention: return "attention"
        case .attentionDecode: return "attention_decode"
        case .crossEntropy: return "cross_entropy"
        case .mse: return "mse"
        case .mean: return "mean"
        case .sequenceSlice: return "sequence_slice"
        case .sequenceConcat: return "sequence_concat"
        }
    }

    /// False for ops that serve generation only.
    public var hasBackward: Bool {
        if case .attentionDecode = self { return false }
        return true
    }

    /// Inputs the backward reads (by position); the rest may be freed after the forward.
    /// Saved tensors are always read.
    /// Whether the backward reads the op's own output (beyond what it saves).
    var backwardReadsOutput: Bool {
        if case .attention = self { return true }
        return false
    }

    func backwardReadsInput(_ index: Int) -> Bool {
        switch self {
        case .embedding: return index == 0             // ids
        case .linear: return index <= 1                // x and weight
        case .add, .addBroadcast, .scale, .mean, .sequenceSlice, .sequenceConcat: return false
        case .mul: return true
        case .layerNorm: return index <= 1             // x and weight
        case .gelu: return true
        case .attention: return true                   // qkv
        case .attentionDecode: return true
        case .crossEntropy: return index >= 1          // targets, weights
        case .mse: return true                         // prediction, target, weights
        }
    }
}

/// One forward node: `output = op(inputs)`, plus tensors it saves for its backward.
public struct Node: Sendable {
    public var op: Op
    public var inputs: [TensorID]
    public var output: TensorID
    public var saved: [TensorID]
}

/// One backward step: the backward of `nodes[node]`, reading the gradient of its output and
/// accumulating into the gradients of its inputs (nil where an input needs none).
public struct BackwardStep: Sendable {
    public var node: Int
    public var outputGradient: TensorID
    public var inputGradients: [TensorID?]
}
