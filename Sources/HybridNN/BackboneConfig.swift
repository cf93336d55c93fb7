import HybridCore

/// The backbone's size: what `model:` in a recipe says.
public struct BackboneConfig: Sendable, Equatable {
    public var dModel: Int
    public var layers: Int
    public var heads: Int
    /// Longest sequence any objective feeds; the learned position table has this many rows.
    public var maxLength: Int
    public var mlpRatio: Int
    /// Rows of the token embedding (bytes plus special tokens).
    public var vocabulary: Int
    /// Image positions get their own second LayerNorm and feed-forward weights in every block
    /// (modality experts, as VLMo and BEiT-3 do); attention stays shared.
    public var imageExperts: Bool

    public init(dModel: Int, layers: Int, heads: Int, maxLength: Int, mlpRatio: Int = 4, vocabulary: Int, imageExperts: Bool = false) {
        self.dModel = dModel
        self.layers = layers
        self.heads = heads
        self.maxLength = maxLength
        self.mlpRatio = mlpRatio
        self.vocabulary = vocabulary
        self.imageExperts = imageExperts
    }

    /// GPT-2's init: N(0, 0.02) everywhere, residual output projections scaled down by
    /// sqrt(2·layers) so the residual stream's variance does not grow with depth.
    public static let initStd: Float = 0.02
    public var residualStd: Float { Self.initStd / Float(2 * layers).squareRoot() }
}
