import HybridCore
@testable import HybridCPU
import HybridNN
import HybridTestSupport
import Testing

/// The CPU backend recomputes GELU and layer-norm outputs in the backward instead of keeping
/// them (MemoryPlan's `recompute`): the same losses and gradients bit for bit as the plan that
/// keeps them, in a smaller arena, and every dropped output is rerun before its first reader.
@Suite struct RecomputeTests {
    @Test func recomputedOutputsGiveTheSameGradientsInLessMemory() throws {
        let config = BackboneConfig(dModel: 16, layers: 2, heads: 2, maxLength: 12, mlpRatio: 4, vocabulary: 11, imageExperts: false)
        let store = ParameterStore()
        let backbone = Backbone(config: config)
        let o = try SharedWorkspaceTests.objective(backbone, store: store, mask: .causal, B: 3, T: 12)
        store.materialize(seed: 7)
        let kept = MemoryPlan(graph: o.graph, fusedAttention: true)
        let recomputed = MemoryPlan(graph: o.graph, fusedAttention: true, recompute: true)
        #expect(recomputed.size < kept.size, "arena \(recomputed.size) floats recomputing vs \(kept.size) keeping")
        // Two layers: each has two layer norms and a GELU, and the final norm makes seven.
        #expect(recomputed.backwardOffsets.count == 7)
        #expect(recomputed.recomputeBeforeStep.joined().count == 7)
        func run(_ plan: MemoryPlan) throws -> (losses: [Float], gradients: [Float]) {
            let workspace = Workspace(arenaCount: plan.size, scratchCount: CPUExecutable.scratchCount(o.graph))
            let exe = try CPUExecutable(graph: o.graph, plan: plan, workspace: workspace)
            return SharedWorkspaceTests.run([o], [exe], store: store)
        }
        let a = try run(kept), b = try run(recomputed)
        #expect(a.losses == b.losses)
        #expect(a.gradients == b.gradients)
        #expect(b.gradients.contains { $0 != 0 })
    }
}
