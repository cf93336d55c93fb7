import HybridCore
@testable import HybridCPU
import HybridNN
import HybridTestSupport
import Testing

/// The CPU backend recomputes GELU and layer-norm outputs in the backward instead of keeping
/// them (MemoryPlan's `recompute`), and with `products` also the QKV and MLP-input products
/// that read them: the same losses and gradients bit for bit as the plan that keeps them, each
/// in a smaller arena, and every dropped output is rerun before its first reader.
@Suite struct RecomputeTests {
    @Test func recomputedOutputsGiveTheSameGradientsInLessMemory() throws {
        let config = BackboneConfig(dModel: 16, layers: 2, heads: 2, maxLength: 12, mlpRatio: 4, vocabulary: 11, imageExperts: false)
        let store = ParameterStore()
        let backbone = Backbone(config: config)
        let o = try SharedWorkspaceTests.objective(backbone, store: store, mask: .causal, B: 3, T: 12)
        store.materialize(seed: 7)
        let kept = MemoryPlan(graph: o.graph)
        let recomputed = MemoryPlan(graph: o.graph, recompute: .cheap)
        #expect(recomputed.size < kept.size, "arena \(recomputed.size) floats recomputing vs \(kept.size) keeping")
        // Two layers: each has two layer norms and a GELU, and the final norm makes seven.
        #expect(recomputed.backwardOffsets.count == 7)
        #expect(recomputed.recomputeBeforeStep.joined().count == 7)
        // Also each layer's qkv and fc1 products; a rerun product's input is rerun before it.
        let products = MemoryPlan(graph: o.graph, recompute: .products)
        #expect(products.size < recomputed.size, "arena \(products.size) floats recomputing products vs \(recomputed.size)")
        #expect(products.backwardOffsets.count == 11)
        for step in products.recomputeBeforeStep where !step.isEmpty {
            #expect(step == step.sorted())
            for index in step {
                for input in o.graph.nodes[index].inputs where products.backwardOffsets[input] != nil {
                    #expect(step.contains { o.graph.nodes[$0].output == input }, "rerun node \(index) reads an input not rerun before it")
                }
            }
        }
        func run(_ plan: MemoryPlan) throws -> (losses: [Float], gradients: [Float]) {
            let workspace = Workspace(arenaCount: plan.size, scratchCount: CPUExecutable.scratchCount(o.graph))
            let exe = try CPUExecutable(graph: o.graph, plan: plan, workspace: workspace)
            return SharedWorkspaceTests.run([o], [exe], store: store)
        }
        let a = try run(kept), b = try run(recomputed), c = try run(products)
        #expect(a.losses == b.losses && a.losses == c.losses)
        #expect(a.gradients == b.gradients)
        #expect(a.gradients == c.gradients)
        #expect(b.gradients.contains { $0 != 0 })
    }
}
