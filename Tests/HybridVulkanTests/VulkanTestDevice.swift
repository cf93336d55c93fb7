import HybridCore
import HybridCPU
import HybridTestSupport
@testable import HybridVulkan
import Testing

/// The device Vulkan tests run on: HYBRID_VULKAN_DEVICE, else the first the loader lists (CI
/// selects lavapipe with VK_DRIVER_FILES). No device is a failure, not a skip: the backend is
/// tested for real.
func testDevice() throws -> VulkanDevice {
    let devices = try VulkanDevice.survey()
    let index = try VulkanDeviceChoice.forcedIndex() ?? devices.first?.index
    guard let index else { throw VulkanError("no Vulkan device: install mesa-vulkan-drivers (lavapipe) to run the Vulkan tests") }
    return try VulkanDevice(index: index)
}

/// One graph run on a backend: forward, backward with seed 1, and what came out.
struct GraphRun {
    var outputs: [[Float]]
    /// The whole flat gradient buffer, padding included.
    var gradients: [Float]
    /// The gradient buffer's padding between parameters: 0 unless a kernel wrote out of bounds.
    var padding: [Float]
    /// Vulkan: arena elements outside every tensor (guard regions, filled with a sentinel before
    /// the run) that a kernel overwrote. Always 0 on the CPU.
    var arenaGuardsOverwritten = 0
    var parameters: [Float]
}

/// Builds a graph with `build` (which returns the loss and the tensors to compare), fills
/// every parameter and float input with uniform values in [-1, 1) and every int32 input below
/// its bound from one seed, and runs it on `backend`.
func runGraph(on backend: Backend, seed: UInt64 = 7, intBounds: [String: Int] = [:],
              build: (Graph) throws -> (loss: TensorID, compare: [TensorID])) throws -> GraphRun {
    let store = ParameterStore()
    let graph = Graph(parameters: store)
    let built = try build(graph)
    for id in built.compare { try graph.markOutput(id) }
    try graph.differentiate(loss: built.loss)
    store.materialize(seed: 1, memory: backend.parameterMemory())
    var rng = SeededRNG(seed: seed)
    for p in store.parameters {
        for i in 0..<p.count { store.values![p.offset + i] = rng.uniform() }
    }
    let exe = try backend.compile(graph)
    for (id, t) in graph.tensors.enumerated() where t.storage == .input {
        if t.dtype == .int32 {
            let bound = intBounds[t.name] ?? 2
            let ids = exe.int32Input(id)
            for i in ids.indices { ids[i] = Int32(rng.next() % UInt64(bound)) }
        } else {
            let values = exe.floatInput(id)
            for i in values.indices { values[i] = rng.uniform() }
        }
    }
    // Guard regions: every arena element no tensor owns holds a sentinel NaN through the run.
    let sentinel: UInt32 = 0x7FC0_DEAD
    var owned: [Bool] = []
    if let vulkan = exe as? VulkanExecutable {
        owned = [Bool](repeating: false, count: vulkan.arena.count)
        for (id, t) in graph.tensors.enumerated() {
            guard let offset = vulkan.plan.offsets[id] else { continue }
            for i in offset..<(offset + vulkan.plan.words(id, of: graph)) { owned[i] = true }
        }
        let guards = [Float](repeating: Float(bitPattern: sentinel), count: vulkan.arena.count)
        try vulkan.arena.upload(from: guards, offset: 0, count: guards.count)
    }
    exe.forward()
    exe.backward(seed: 1)
    var overwritten = 0
    if let vulkan = exe as? VulkanExecutable {
        var arena = [Float](repeating: 0, count: vulkan.arena.count)
        try vulkan.arena.download(offset: 0, count: arena.count, into: &arena)
        overwritten = owned.indices.filter { !owned[$0] && arena[$0].bitPattern != sentinel }.count
    }
    let gradients = Array(UnsafeBufferPointer(start: store.gradients!, count: store.count))
    var inParameter = [Bool](repeating: false, count: store.count)
    for p in store.parameters { for i in p.offset..<(p.offset + p.count) { inParameter[i] = true } }
    return GraphRun(outputs: built.compare.map { exe.read($0) }, gradients: gradients,
                    padding: gradients.indices.filter { !inParameter[$0] }.map { gradients[$0] },
                    arenaGuardsOverwritten: overwritten,
                    parameters: Array(UnsafeBufferPointer(start: store.values!, count: store.count)))
}

/// L = mean(out · R) for a fixed random input R, so the backward runs with dout = R / n.
func projectedLoss(_ g: Graph, _ out: TensorID) throws -> TensorID {
    let r = g.input("R", shape: g[out].shape, dtype: .float32)
    return try g.mean(g.mul(out, r))
}

func hasNaN(_ values: [Float]) -> Bool { values.contains { $0.isNaN } }

extension VulkanDevice {
    /// Fails the calling test on any validation-layer error (HYBRID_VULKAN_VALIDATION=1).
    func expectNoValidationErrors(sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(validationErrors == 0, "\(validationErrors) Vulkan validation errors (printed above)", sourceLocation: sourceLocation)
    }
}
