import HybridCore

/// Small graph builders over named parameters. No math here: each adds nodes to a graph.

/// y = x·Wᵀ + b with W [out, in] named "\(name).weight" and b "\(name).bias".
public func linear(_ g: Graph, _ x: TensorID, name: String, outFeatures: Int, bias: Bool = true,
                   std: Float = BackboneConfig.initStd) throws -> TensorID {
    let w = try g.parameter("\(name).weight", shape: [outFeatures, g[x].columns], initializer: .normal(std: std), decay: true)
    let b = bias ? try g.parameter("\(name).bias", shape: [outFeatures], initializer: .zeros, decay: false) : nil
    return try g.linear(x, weight: w, bias: b)
}

/// LayerNorm over the last dimension with "\(name).weight" (ones) and "\(name).bias" (zeros).
public func layerNorm(_ g: Graph, _ x: TensorID, name: String) throws -> TensorID {
    let c = g[x].columns
    let w = try g.parameter("\(name).weight", shape: [c], initializer: .ones, decay: false)
    let b = try g.parameter("\(name).bias", shape: [c], initializer: .zeros, decay: false)
    return try g.layerNorm(x, weight: w, bias: b)
}
