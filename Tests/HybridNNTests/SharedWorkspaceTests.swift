import HybridCore
import HybridCPU
import HybridNN
import HybridTestSupport
import Testing

/// Graphs compiled to run one at a time share the CPU backend's activation arena: two
/// objectives over one backbone (causal and bidirectional, of different batch shapes, so
/// their plans differ) give, run in turn, the same losses and gradients bit for bit as when
/// each has memory of its own — nothing one leaves in the arena reaches the other.
@Suite struct SharedWorkspaceTests {
    struct Objective {
        let graph: Graph
        let tokens: TensorID, targets: TensorID, weights: TensorID, loss: TensorID
    }

    static func objective(_ backbone: Backbone, store: ParameterStore, mask: AttentionMask, B: Int, T: Int) throws -> Objective {
        let g = Graph(parameters: store)
        let tokens = g.input("tokens", shape: [B, T], dtype: .int32)
        let targets = g.input("targets", shape: [B, T], dtype: .int32)
        let weights = g.input("weights", shape: [B, T], dtype: .float32)
        let h = try backbone(g, backbone.tokenEmbedding(g, tokens), mask: mask, imageFrom: nil)
        let logits = try linear(g, h, name: "head", outFeatures: 9, bias: false)
        let loss = try g.crossEntropy(logits: logits, targets: targets, weights: weights)
        try g.differentiate(loss: loss)
        return Objective(graph: g, tokens: tokens, targets: targets, weights: weights, loss: loss)
    }

    /// Two steps of both objectives in turn; the losses and the gradient after them.
    static func run(_ objectives: [Objective], _ executables: [Executable], store: ParameterStore) -> (losses: [Float], gradients: [Float]) {
        var losses: [Float] = []
        store.gradients!.update(repeating: 0, count: store.count)
        for step in 0..<2 {
            for (o, exe) in zip(objectives, executables) {
                var rng = SeededRNG(seed: UInt64(10 * step + losses.count))
                let n = o.graph[o.tokens].count
                for (i, t) in rng.int32s(count: n, below: 11).enumerated() { exe.int32Input(o.tokens)[i] = t }
                for (i, t) in rng.int32s(count: n, below: 9).enumerated() { exe.int32Input(o.targets)[i] = t }
                for i in 0..<n { exe.floatInput(o.weights)[i] = 1 }
                exe.forward()
                exe.backward(seed: 1)
                losses.append(exe.read(o.loss)[0])
            }
        }
        return (losses, Array(UnsafeBufferPointer(start: store.gradients!, count: store.count)))
    }

    @Test func objectivesRunInTurnAsWithMemoryOfTheirOwn() throws {
        let config = BackboneConfig(dModel: 16, layers: 2, heads: 2, maxLength: 70, mlpRatio: 2, vocabulary: 11, imageExperts: false)
        let store = ParameterStore()
        let backbone = Backbone(config: config)
        let objectives = [try Self.objective(backbone, store: store, mask: .causal, B: 2, T: 70),
                          try Self.objective(backbone, store: store, mask: .bidirectional, B: 3, T: 9)]
        store.materialize(seed: 5)
        let backend = CPUBackend()
        let shared = Self.run(objectives, try backend.compile(oneAtATime: objectives.map(\.graph)), store: store)
        let separate = Self.run(objectives, try objectives.map { try backend.compile($0.graph) }, store: store)
        #expect(shared.losses == separate.losses)
        #expect(shared.gradients == separate.gradients)
        #expect(shared.losses.allSatisfy { $0.isFinite && $0 > 0 })
    }
}
