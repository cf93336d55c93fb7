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

    /// With `imageFrom`, positions imageFrom..<T take the image experts' feed-forward weights.
    static func build(mask: AttentionMask, imageFrom: Int? = nil, seed: UInt64) throws -> Model {
        let (B, T) = (2, 5)
        let config = BackboneConfig(dModel: 12, layers: 2, heads: 3, maxLength: 7, mlpRatio: 2, vocabulary: 11, imageExperts: imageFrom != nil)
        let store = ParameterStore()
        let g = Graph(parameters: store)
        let tokens = g.input("tokens", shape: [B, T], dtype: .int32)
        let targets = g.input("targets", shape: [B, T], dtype: .int32)
        let weights = g.input("weights", shape: [B, T], dtype: .float32)
        let backbone = Backbone(config: config)
        let h = try backbone(g, backbone.tokenEmbedding(g, tokens), mask: mask, imageFrom: imageFrom)
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

    /// A caption's positions (0..<2) through the shared feed-forward weights and the image's
    /// (2..<5) through the image experts, split and joined by sequence_slice and
    /// sequence_concat; and a sequence that is all image.
    @Test(arguments: [2, 0])
    func imageExpertsMatchFiniteDifferences(imageFrom: Int) throws {
        let m = try Self.build(mask: .tailBlock(start: 2), imageFrom: imageFrom, seed: 11)
        let store = m.graph.parameters
        let (check, analytic) = checkParameterGradients(m.executable, loss: m.loss, step: 3e-3) { store in
            store.parameters.flatMap { p in stride(from: 0, to: p.count, by: max(1, p.count / 4)).map { p.offset + $0 } }
        }
        #expect(check.normalizedError < 5e-3, "image from \(imageFrom): \(check)")
        let names = Set(store.parameters.map(\.name))
        #expect(names.contains("blocks.1.image.fc2.weight"))
        #expect(names.contains("blocks.1.fc2.weight") == (imageFrom > 0), "the shared feed-forward weights serve the caption only")
        for p in store.parameters where p.name != "tok_emb.weight" && p.name != "pos_emb.weight" {
            let norm = (0..<p.count).reduce(0.0) { $0 + Double(abs(analytic[p.offset + $1])) }
            #expect(norm > 0, "\(p.name) got no gradient")
        }
    }

    @Test func sliceAndConcatMatchFiniteDifferences() throws {
        let store = ParameterStore()
        let g = Graph(parameters: store)
        let x = try g.parameter("x", shape: [3, 6, 4], initializer: .zeros, decay: false)
        let y = try g.parameter("y", shape: [3, 2, 4], initializer: .zeros, decay: false)
        let middle = try g.sequenceSlice(x, 1..<5)
        let joined = try g.sequenceConcat(y, g.mul(middle, middle))
        // Σ r ⊙ joined² with a fixed r, so every element's gradient differs.
        let r = g.input("r", shape: [3, 6, 4], dtype: .float32)
        let loss = try g.mean(g.mul(g.mul(joined, joined), r))
        try g.differentiate(loss: loss)
        store.materialize(seed: 1)
        var rng = SeededRNG(seed: 4)
        for (i, v) in rng.normal(count: store.count).enumerated() { store.values![i] = v }
        let exe = try CPUBackend().compile(g)
        for (i, v) in rng.normal(count: 72).enumerated() { exe.floatInput(r)[i] = v }
        let (check, analytic) = checkParameterGradients(exe, loss: loss, step: 1e-2)
        #expect(check.normalizedError < 1e-3, "\(check)")
        // x's positions 0 and 5 are outside the slice: no gradient; every other element has one.
        let xOffset = store.parameters.first { $0.name == "x" }!.offset
        for b in 0..<3 { for t in 0..<6 { for c in 0..<4 {
            let value = analytic[xOffset + (b * 6 + t) * 4 + c]
            #expect((value == 0) == (t == 0 || t == 5), "dx[\(b), \(t), \(c)] = \(value)")
        } } }
        // The forward is a copy: joined[b, 2 + t] = x[b, 1 + t]², joined[b, 0..<2] = y[b].
        exe.forward()
        let out = exe.read(joined), xs = store.values! + xOffset, ys = store.values! + store.parameters.first { $0.name == "y" }!.offset
        for b in 0..<3 { for t in 0..<6 { for c in 0..<4 {
            let expected = t < 2 ? ys[(b * 2 + t) * 4 + c] : xs[(b * 6 + t - 1) * 4 + c] * xs[(b * 6 + t - 1) * 4 + c]
            #expect(out[(b * 6 + t) * 4 + c] == expected)
        } } }
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
