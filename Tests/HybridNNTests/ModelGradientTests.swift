import HybridCore
import HybridCPU
import HybridNN
import HybridTestSupport
import Testing

/// The whole model — embedding, positions, two pre-LN blocks, final LayerNorm, head and a
/// weighted cross-entropy — built by the graph builders, differentiated by `Graph`, laid out
/// by `MemoryPlan` and run by the CPU backend, checked against finite differences.
@Suite struct ModelGradientTests {
    struct Model {
        let graph: Graph
        let executable: Executable
        let loss: TensorID
    }

    static func build(mask: AttentionMask, seed: UInt64) throws -> Model {
        let (B, T) = (2, 5)
        let config = BackboneConfig(dModel: 12, layers: 2, heads: 3, maxLength: 7, mlpRatio: 2, vocabulary: 11)
        let store = ParameterStore()
        let g = Graph(parameters: store)
        let tokens = g.input("tokens", shape: [B, T], dtype: .int32)
        let targets = g.input("targets", shape: [B, T], dtype: .int32)
        let weights = g.input("weights", shape: [B, T], dtype: .float32)
        let backbone = Backbone(config: config)
        let h = try backbone(g, backbone.tokenEmbedding(g, tokens), mask: mask)
        let logits = try linear(g, h, name: "head", outFeatures: 9, bias: false)
        let loss = try g.crossEntropy(logits: logits, targets: targets, weights: weights)
        try g.differentiate(loss: loss)
        // Larger weights than GPT-2's 0.02 so every path carries a visible gradient.
        store.materialize(seed: seed)
        for i in 0..<store.count { store.values![i] *= 4 }
        let exe = try CPUBackend().compile(g)
        var rng = SeededRNG(seed: seed)
        for (i, t) in rng.int32s(count: B * T, below: 11).enumerated() { exe.int32Input(tokens)[i] = t }
        for (i, t) in rng.int32s(count: B * T, below: 9).enumerated() { exe.int32Input(targets)[i] = t }
        for i in 0..<(B * T) { exe.floatInput(weights)[i] = i % 3 == 0 ? 0 : 1 + Float(i % 2) }
        return Model(graph: g, executable: exe, loss: loss)
    }

    @Test(arguments: [AttentionMask.causal, .bidirectional, .prefix(length: 3), .tailBlock(start: 2)])
    func everyParameterMatchesFiniteDifferences(mask: AttentionMask) throws {
        let m = try Self.build(mask: mask, seed: 7)
        let store = m.graph.parameters
        // A few coordinates of every parameter tensor.
        let (check, analytic) = checkParameterGradients(m.executable, loss: m.loss, step: 3e-3) { store in
            store.parameters.flatMap { p in stride(from: 0, to: p.count, by: max(1, p.count / 4)).map { p.offset + $0 } }
        }
        #expect(check.normalizedError < 5e-3, "\(mask): \(check)")
        // Every parameter tensor received some gradient (nothing disconnected).
        for p in store.parameters where p.name != "tok_emb.weight" && p.name != "pos_emb.weight" {
            let norm = (0..<p.count).reduce(0.0) { $0 + Double(abs(analytic[p.offset + $1])) }
            #expect(norm > 0, "\(p.name) got no gradient")
        }
    }

    @Test func arenaReusesMemoryAcrossLifetimes() throws {
        let m = try Self.build(mask: .causal, seed: 3)
        let plan = MemoryPlan(graph: m.graph)
        let arenaTensors = m.graph.tensors.indices.filter { plan.offsets[$0] != nil }
        let naive = arenaTensors.reduce(0) { $0 + m.graph[$1].count }
        #expect(plan.size < naive, "planned arena \(plan.size) floats vs \(naive) without reuse")
    }
}

/// The denoising model at the shapes the digits recipe uses — 16 patches of 4 values, a
/// timestep MLP added to the patch embedding, the bidirectional backbone, a 4-value head and a
/// weighted MSE — checked against finite differences, so the narrow projections (K = 4 in,
/// M = 4 out) and the 16-position bidirectional attention are covered at the sizes that train
/// (a smaller d_model keeps the check fast).
@Suite struct DenoiseModelGradientTests {
    @Test func everyParameterMatchesFiniteDifferences() throws {
        let (B, P, F, d) = (3, 16, 4, 32)
        let config = BackboneConfig(dModel: d, layers: 2, heads: 2, maxLength: 20, mlpRatio: 4, vocabulary: 5)
        let store = ParameterStore()
        let g = Graph(parameters: store)
        let noisy = g.input("noisy", shape: [B, P, F], dtype: .float32)
        let time = g.input("time", shape: [B, P, d], dtype: .float32)
        let target = g.input("target", shape: [B, P, F], dtype: .float32)
        let weights = g.input("weights", shape: [B * P], dtype: .float32)
        let t = try linear(g, g.gelu(linear(g, time, name: "t_mlp1", outFeatures: d)), name: "t_mlp2", outFeatures: d)
        let x = try g.add(linear(g, noisy, name: "patch_in", outFeatures: d), t)
        let h = try Backbone(config: config)(g, x, mask: .bidirectional)
        let prediction = try linear(g, h, name: "patch_out", outFeatures: F)
        let loss = try g.mse(prediction: prediction, target: target, weights: weights)
        try g.differentiate(loss: loss)
        store.materialize(seed: 5)
        var rng = SeededRNG(seed: 5)
        for (i, v) in rng.normal(count: store.count, std: 0.1).enumerated() { store.values![i] += v }
        let exe = try CPUBackend().compile(g)
        for (i, v) in rng.normal(count: B * P * F).enumerated() { exe.floatInput(noisy)[i] = v }
        for (i, v) in rng.normal(count: B * P * F).enumerated() { exe.floatInput(target)[i] = v }
        for (i, v) in rng.normal(count: B * P * d).enumerated() { exe.floatInput(time)[i] = v }
        for i in 0..<(B * P) { exe.floatInput(weights)[i] = 1 }
        let (check, analytic) = checkParameterGradients(exe, loss: loss, step: 3e-3) { store in
            store.parameters.flatMap { p in stride(from: 0, to: p.count, by: max(1, p.count / 4)).map { p.offset + $0 } }
        }
        #expect(check.normalizedError < 5e-3, "\(check)")
        for p in store.parameters where p.name != "tok_emb.weight" {
            let norm = (0..<p.count).reduce(0.0) { $0 + Double(abs(analytic[p.offset + $1])) }
            #expect(norm > 0, "\(p.name) got no gradient")
        }
    }
}
