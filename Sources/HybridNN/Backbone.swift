import HybridCore

/// The shared transformer: learned positions, pre-LN blocks, final LayerNorm.
///
///     x = x + pos[0:T]
///     for each block:  x += proj(attn(LN1(x)));  x += fc2(GELU(fc1(LN2(x))))
///     return LN_f(x)
///
/// Every objective builds through these functions with the same parameter names, so one
/// set of weights serves them all.
public struct Backbone: Sendable {
    public let config: BackboneConfig

    public init(config: BackboneConfig) { self.config = config }

    /// int32 ids [B, T] → [B, T, C] through the shared table "tok_emb.weight".
    public func tokenEmbedding(_ g: Graph, _ ids: TensorID) throws -> TensorID {
        let table = try g.parameter("tok_emb.weight", shape: [config.vocabulary, config.dModel],
                                    initializer: .normal(std: BackboneConfig.initStd), decay: true)
        return try g.embedding(ids: ids, table: table)
    }

    /// One generation step's extra inputs (KV cache): the token's position (int32 [1]) and each
    /// layer's key and value cache, state tensors [maxLength, C] the step writes its row into.
    public struct DecodeCache: Sendable {
        public let position: TensorID
        public let keys: [TensorID]
        public let values: [TensorID]

        public init(_ g: Graph, config: BackboneConfig) {
            position = g.input("position", shape: [1], dtype: .int32)
            keys = (0..<config.layers).map { g.state("blocks.\($0).cache.keys", shape: [config.maxLength, config.dModel]) }
            values = (0..<config.layers).map { g.state("blocks.\($0).cache.values", shape: [config.maxLength, config.dModel]) }
        }
    }

    /// [B, T, C] → [B, T, C]; positions `imageFrom`..<T are an image's (nil: none), which
    /// under `imageExperts` take the image's feed-forward weights. With `cache`, one causal
    /// generation step: x is the newest token [1, 1, C] at `cache.position`, attending to the
    /// cached keys and values of those before.
    public func callAsFunction(_ g: Graph, _ x: TensorID, mask: AttentionMask, imageFrom: Int? = nil, cache: DecodeCache? = nil) throws -> TensorID {
        let shape = g[x].shape
        if let cache {
            guard mask == .causal, shape == [1, 1, config.dModel], imageFrom == nil else {
                throw GraphError("backbone: a cached generation step takes one text token [1, 1, \(config.dModel)] under a causal mask, got \(shape), \(mask)")
            }
            let table = try g.parameter("pos_emb.weight", shape: [config.maxLength, config.dModel],
                                        initializer: .normal(std: BackboneConfig.initStd), decay: true)
            var h = try g.add(x, g.embedding(ids: cache.position, table: table))
            for layer in 0..<config.layers {
                h = try block(g, h, layer: layer, imageFrom: nil) { qkv in
                    try g.attentionDecode(qkv, keys: cache.keys[layer], values: cache.values[layer], position: cache.position, heads: config.heads)
                }
            }
            return try layerNorm(g, h, name: "ln_f")
        }
        guard shape.count == 3, shape[2] == config.dModel else {
            throw GraphError("backbone: input \(g[x].name) \(shape) must be [B, T, \(config.dModel)]")
        }
        guard shape[1] <= config.maxLength else {
            throw GraphError("backbone: sequence of \(shape[1]) positions is longer than the model's \(config.maxLength)")
        }
        let table = try g.parameter("pos_emb.weight", shape: [config.maxLength, config.dModel],
                                    initializer: .normal(std: BackboneConfig.initStd), decay: true)
        var h = try g.add(x, g.parameterRows(table, shape[1]))
        for layer in 0..<config.layers {
            h = try block(g, h, layer: layer, imageFrom: imageFrom) { try g.attention($0, heads: config.heads, mask: mask) }
        }
        return try layerNorm(g, h, name: "ln_f")
    }

    /// One pre-LN block; `attend` maps the fused qkv to the attended values. Positions
    /// `imageFrom`..<T are an image's (nil: none).
    private func block(_ g: Graph, _ x: TensorID, layer: Int, imageFrom: Int?, attend: (TensorID) throws -> TensorID) throws -> TensorID {
        let p = "blocks.\(layer)"
        let d = config.dModel
        let qkv = try linear(g, layerNorm(g, x, name: "\(p).ln1"), name: "\(p).qkv", outFeatures: 3 * d)
        let attended = try attend(qkv)
        let h = try g.add(x, linear(g, attended, name: "\(p).proj", outFeatures: d, std: config.residualStd))
        let T = g[h].shape[1]
        func feedForward(_ x: TensorID, _ p: String) throws -> TensorID {
            let up = try g.gelu(linear(g, layerNorm(g, x, name: "\(p).ln2"), name: "\(p).fc1", outFeatures: config.mlpRatio * d))
            return try linear(g, up, name: "\(p).fc2", outFeatures: d, std: config.residualStd)
        }
        guard config.imageExperts, let imageFrom, imageFrom < T else { return try g.add(h, feedForward(h, p)) }
        guard imageFrom > 0 else { return try g.add(h, feedForward(h, "\(p).image")) }
        let text = try feedForward(g.sequenceSlice(h, 0..<imageFrom), p)
        let image = try feedForward(g.sequenceSlice(h, imageFrom..<T), "\(p).image")
        return try g.add(h, g.sequenceConcat(text, image))
    }
}
