import HybridCore
import HybridCPU
import HybridNN
import HybridTestSupport
@testable import HybridVulkan
import Testing

/// `precision: mixed` against the fp32 CPU reference. The ops whose outputs are bfloat16
/// (linear, attention, GELU: MixedPrecision.halved) hold NMSE ≤ 2e-5 on their outputs and
/// gradients: one rounding to bfloat16 (8 significant bits) costs about 2.6e-6, and the worst
/// case measured on lavapipe is 8.5e-6 (an attention's gradients, which pass through two
/// bfloat16 tensors). Every other op runs the mixed build of its kernel on fp32 operands and
/// keeps the fp32 tolerance. A small transformer trains to the same losses within 0.1% in a
/// smaller arena.
@Suite(.serialized) struct MixedPrecisionTests {
    static let tolerance = 2e-5

    static func halvesItsOutput(_ c: OpParityTests.Case) -> Bool {
        ["linear", "attention", "gelu"].contains { c.name.hasPrefix($0) }
    }

    @Test(arguments: OpParityTests.cases)
    func opsMatchTheCPU(_ c: OpParityTests.Case) throws {
        let device = try testDevice()
        let bound = Self.halvesItsOutput(c) ? max(c.tolerance, Self.tolerance) : c.tolerance
        let cpu = try runGraph(on: CPUBackend(), intBounds: c.intBounds, build: c.build)
        let mixed = try runGraph(on: VulkanBackend(device: device, mixedPrecision: true), intBounds: c.intBounds, build: c.build)
        for (i, (v, r)) in zip(mixed.outputs, cpu.outputs).enumerated() {
            #expect(!hasNaN(v), "output \(i) has NaN")
            #expect(nmse(v, r) <= bound, "output \(i): NMSE \(nmse(v, r))")
        }
        #expect(mixed.padding.allSatisfy { $0 == 0 }, "a kernel wrote into the gradient buffer's padding")
        #expect(mixed.arenaGuardsOverwritten == 0, "kernels wrote \(mixed.arenaGuardsOverwritten) arena words outside every tensor")
        #expect(nmse(mixed.gradients, cpu.gradients) <= bound, "gradients: NMSE \(nmse(mixed.gradients, cpu.gradients))")
        device.expectNoValidationErrors()
    }

    /// A two-block causal transformer, three AdamW steps: fp32 parameters and moments, so the
    /// updates stay close; the arena is at most 65% of the fp32 one (62% measured) (the products' and GELU's
    /// outputs and gradients take half the bytes).
    @Test func aTransformerTrainsLikeTheCPUInASmallerArena() throws {
        let device = try testDevice()
        let config = BackboneConfig(dModel: 64, layers: 2, heads: 2, maxLength: 32, mlpRatio: 4, vocabulary: 64)
        let split = BufferSplitTests()
        let (cpu, mixed) = try split.trainOnBoth(device, config: config, B: 4, T: 32, mixed: true)
        let (_, fp32) = try split.trainOnBoth(device, config: config, B: 4, T: 32)
        for (step, (v, r)) in zip(mixed.losses, cpu.losses).enumerated() {
            #expect(abs(v - r) <= 1e-3 * abs(r), "step \(step + 1): loss \(v) in mixed precision, \(r) on the CPU")
        }
        #expect(nmse(mixed.values, cpu.values) <= 2e-5, "parameters after 3 steps: NMSE \(nmse(mixed.values, cpu.values))")
        #expect(Double(mixed.arenaWords) <= 0.65 * Double(fp32.arenaWords), "arena \(mixed.arenaWords) words mixed, \(fp32.arenaWords) fp32 (\(Double(mixed.arenaWords) / Double(fp32.arenaWords)))")
        device.expectNoValidationErrors()
    }
}
