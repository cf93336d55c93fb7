import HybridCore
import HybridCPU
import HybridNN
import HybridTestSupport
@testable import HybridVulkan
import Testing

/// No tensor store is limited by one storage buffer: the arena and the parameters split into
/// chunks of at most the device's buffer limit, no tensor crosses a chunk, and what a kernel
/// sees is a 32-bit (buffer, offset) pair. Checked as arithmetic past 2³¹ and 2³² elements with
/// a fake limit, then for real on the device with limits small enough to split everything.
@Suite(.serialized) struct BufferSplitTests {
    /// A graph far larger than any machine here (nothing is allocated to plan it): tensors of
    /// 3·2²⁸ floats, eight alive at once, planned into chunks of 2³⁰ (a 4 GiB buffer limit).
    @Test func planOffsetsPast2To32StayInOneChunkAndFit32Bits() throws {
        let n = 3 << 28, chunk = 1 << 30
        let g = Graph(parameters: ParameterStore())
        var x = g.input("x", shape: [n], dtype: .float32)
        var kept: [TensorID] = []
        for _ in 0..<8 {
            x = try g.scale(x, by: 2)
            kept.append(x)
        }
        for id in kept { try g.markOutput(id) }
        let plan = MemoryPlan(graph: g, chunk: chunk)
        let layout = ChunkLayout(count: plan.size, chunkElements: chunk)
        // Two tensors of 3·2²⁸ never share a 2³⁰ chunk: each live tensor gets its own.
        #expect(plan.size == 7 * chunk + n, "plan size \(plan.size)")
        #expect(layout.chunks == 8)
        var largest = 0
        for id in kept {
            let offset = try #require(plan.offsets[id])
            largest = max(largest, offset)
            let (c, local) = try layout.locate(offset: offset, count: n)
            #expect(c == offset / chunk && local + n <= chunk, "tensor \(id) at \(offset) crosses a chunk")
            #expect(UInt32(exactly: local) != nil && UInt32(exactly: c) != nil)
        }
        #expect(largest > 1 << 32, "some tensor should sit past element 2³², the largest offset is \(largest)")
        // Without a chunk the same plan packs tightly and would cross boundaries.
        #expect(MemoryPlan(graph: g).size == 8 * n)
    }

    @Test func chunkLayoutLocatesSplitsAndRefuses() throws {
        let layout = ChunkLayout(count: (5 << 32) + 7, chunkElements: 1 << 30)
        #expect(layout.chunks == 21)
        #expect(layout.elements(inChunk: 20) == 7)
        let (c, local) = try layout.locate(offset: (3 << 32) + 100, count: 1000)
        #expect(c == 12 && local == 100)
        #expect(throws: VulkanError.self) { try layout.locate(offset: (1 << 30) - 10, count: 11) }        // crosses
        #expect(throws: VulkanError.self) { try layout.locate(offset: (5 << 32) + 7, count: 1) }          // past the end
        let pieces = layout.pieces(offset: (1 << 30) - 3, count: (1 << 30) + 5)
        #expect(pieces.map(\.chunk) == [0, 1, 2] && pieces.map(\.count) == [3, 1 << 30, 2] && pieces[1].offset == 0)
        // A limit that is not a multiple of the arena alignment rounds down to one.
        #expect(ChunkLayout(count: 100, chunkElements: 70).chunkElements == 64)
    }

    /// The parity cases again with buffers of 2048 floats (each case's tensors fit one): the
    /// arena splits, and the numbers are those of one buffer.
    @Test(arguments: OpParityTests.cases.filter { Self.smallCases.contains($0.name) })
    func opsOnSplitBuffersMatchTheCPU(_ c: OpParityTests.Case) throws {
        let device = try testDevice()
        device.bufferLimit = 2048 * 4
        let cpu = try runGraph(on: CPUBackend(), intBounds: c.intBounds, build: c.build)
        let vulkan = try runGraph(on: VulkanBackend(device: device), intBounds: c.intBounds, build: c.build)
        for (i, (v, r)) in zip(vulkan.outputs, cpu.outputs).enumerated() {
            #expect(nmse(v, r) <= c.tolerance, "output \(i): NMSE \(nmse(v, r))")
        }
        #expect(vulkan.padding.allSatisfy { $0 == 0 })
        #expect(vulkan.arenaGuardsOverwritten == 0)
        #expect(nmse(vulkan.gradients, cpu.gradients) <= c.tolerance, "gradients: NMSE \(nmse(vulkan.gradients, cpu.gradients))")
        device.expectNoValidationErrors()
    }

    static let smallCases: Set<String> = [
        "embedding 37×13 from 11 rows", "linear 37×29 → 23 with bias", "layer_norm 23×37",
        "attention prefix 5 and tail block 9, T13", "mse 29×5, gradient to both sides",
    ]

    /// A two-block transformer on buffers of 2048 floats: its arena and each of its parameter
    /// buffers split into several, parameters are moved off chunk boundaries on the device, and
    /// three AdamW steps match the CPU.
    @Test func aModelOnSplitBuffersTrainsLikeTheCPU() throws {
        let device = try testDevice()
        device.bufferLimit = 2048 * 4
        let config = BackboneConfig(dModel: 16, layers: 2, heads: 2, maxLength: 8, mlpRatio: 4, vocabulary: 32)
        let (cpu, vulkan) = try trainOnBoth(device, config: config, B: 2, T: 8)
        #expect(vulkan.arenaChunks > 1 && vulkan.parameterChunks > 1, "arena \(vulkan.arenaChunks) and parameter \(vulkan.parameterChunks) chunks")
        expectSameTraining(vulkan, cpu)
        device.expectNoValidationErrors()
    }

    /// A model whose activations need more than 128 MiB (lavapipe's whole storage-buffer range;
    /// elsewhere the limit is set to it) — mostly its 1024-way head's logits and their softmax —
    /// trains two steps like the CPU (two: the debug-built CPU reference takes seconds a step).
    @Test func aModelLargerThanOneBufferTrainsLikeTheCPU() throws {
        let device = try testDevice()
        device.bufferLimit = min(device.bufferLimit, 128 << 20)
        let config = BackboneConfig(dModel: 32, layers: 1, heads: 2, maxLength: 16, mlpRatio: 4, vocabulary: 1024)
        let (cpu, vulkan) = try trainOnBoth(device, config: config, B: 1280, T: 16, steps: 2)
        #expect(vulkan.arenaChunks > 1, "the arena should need more than one \(device.bufferLimit >> 20) MiB buffer")
        expectSameTraining(vulkan, cpu)
        device.expectNoValidationErrors()
    }

    /// A graph or parameters past the device's memory are refused before allocation, naming
    /// what was asked for and what the device has (here a 1 MiB device).
    @Test func whatDoesNotFitTheDeviceIsRefusedBeforeAllocating() throws {
        let device = try testDevice()
        device.memoryLimit = 1 << 20
        let backend = try VulkanBackend(device: device)
        let store = ParameterStore()
        let g = Graph(parameters: store)
        let x = try g.parameter("x", shape: [1000], initializer: .zeros, decay: false)
        let wide = try g.add(g.input("y", shape: [3000, 1000], dtype: .float32), g.scale(x, by: 2))
        try g.differentiate(loss: g.mean(wide))
        store.materialize(seed: 1, memory: backend.parameterMemory())
        #expect {
            _ = try backend.compile(g)
        } throws: { error in
            let text = "\(error)"
            return text.contains("activations need 11.4 MiB") && text.contains("only 0.9 MiB of its 1.0 MiB are free")
        }
        let held = device.allocatedBytes   // the first store's parameters, which stay while it lives
        let big = ParameterStore()
        let h = Graph(parameters: big)
        try h.differentiate(loss: h.mean(h.parameter("w", shape: [200_000], initializer: .zeros, decay: false)))
        big.materialize(seed: 1, memory: backend.parameterMemory())
        #expect {
            _ = try backend.compile(h)
        } throws: { error in
            "\(error)".contains("the parameters, their gradients and AdamW moments need 3.0 MiB")
        }
        #expect(device.allocatedBytes == held, "refused parameters must leave no buffers behind")
    }

    struct Training {
        var losses: [Float]
        var values: [Float]
        var arenaChunks = 0, parameterChunks = 0
        /// The Vulkan arena's size in 4-byte words.
        var arenaWords = 0
    }

    /// `steps` steps (zero, forward, backward, AdamW) of a causal backbone with a vocabulary-wide
    /// head on random tokens, on the CPU and on `device` (with bfloat16 activations where `mixed`).
    func trainOnBoth(_ device: VulkanDevice, config: BackboneConfig, B: Int, T: Int, steps: Int = 3,
                     mixed: Bool = false) throws -> (cpu: Training, vulkan: Training) {
        let V = config.vocabulary
        let settings = AdamWSettings(learningRate: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1)
        var rng = SeededRNG(seed: 9)
        let tokens = rng.int32s(count: B * T, below: V), targets = rng.int32s(count: B * T, below: V)
        var runs: [Training] = []
        for backend: Backend in [CPUBackend(), try VulkanBackend(device: device, mixedPrecision: mixed)] {
            let store = ParameterStore()
            let g = Graph(parameters: store)
            let ids = g.input("tokens", shape: [B, T], dtype: .int32), want = g.input("targets", shape: [B, T], dtype: .int32)
            let weights = g.input("weights", shape: [B, T], dtype: .float32)
            let backbone = Backbone(config: config)
            let h = try backbone(g, backbone.tokenEmbedding(g, ids), mask: .causal)
            let logits = try linear(g, h, name: "head", outFeatures: V, bias: true)
            let loss = try g.crossEntropy(logits: logits, targets: want, weights: weights)
            try g.differentiate(loss: loss)
            store.materialize(seed: 5, memory: backend.parameterMemory())
            let exe = try backend.compile(g)
            for i in 0..<(B * T) {
                exe.int32Input(ids)[i] = tokens[i]
                exe.int32Input(want)[i] = targets[i]
                exe.floatInput(weights)[i] = 1
            }
            var losses: [Float] = []
            for step in 1...steps {
                store.zeroGradients()
                exe.forward()
                exe.backward(seed: 1)
                losses.append(exe.read(loss)[0])
                backend.adamwStep(store, settings: settings, step: step)
            }
            var run = Training(losses: losses, values: Array(UnsafeBufferPointer(start: store.values!, count: store.count)))
            if let vulkan = exe as? VulkanExecutable, let memory = store.memory as? VulkanParameterMemory {
                run.arenaChunks = vulkan.arena.chunks.count
                run.arenaWords = vulkan.plan.size
                run.parameterChunks = try memory.prepare(store, writes: []).layout.chunks
            }
            runs.append(run)
        }
        return (runs[0], runs[1])
    }

    func expectSameTraining(_ vulkan: Training, _ cpu: Training, sourceLocation: SourceLocation = #_sourceLocation) {
        for (step, (v, r)) in zip(vulkan.losses, cpu.losses).enumerated() {
            #expect(abs(v - r) <= 1e-4 * abs(r), "step \(step + 1): loss \(v) on Vulkan, \(r) on the CPU", sourceLocation: sourceLocation)
        }
        #expect(nmse(vulkan.values, cpu.values) <= 1e-7, "parameters after \(cpu.losses.count) steps: NMSE \(nmse(vulkan.values, cpu.values))",
                sourceLocation: sourceLocation)
    }
}
