import HybridCore
import HybridCPU
import HybridTestSupport
import HybridVulkan
import Testing

/// Every op, forward and backward, on Vulkan against the CPU backend (ggml's test-backend-ops
/// idea): the same graph, parameters and inputs on both, then NMSE = Σ(vulkan − cpu)² / Σ cpu²
/// of the op's output, the loss and every parameter gradient. Shapes are odd (no tile
/// multiples); the `large` cases need more than 65535 workgroups in a dimension, the `many`
/// cases more than one block of the two-pass reductions. Guard regions
/// prove no out-of-bounds writes: the gradient buffer's padding between parameters must stay
/// 0, and every arena element outside every tensor keeps a sentinel through the run.
@Suite(.serialized) struct OpParityTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        /// NMSE bound: 1e-7 elementwise, 1e-6 softmax and reductions, 5e-4 matmul and attention.
        var tolerance: Double
        var intBounds: [String: Int] = [:]
        var build: @Sendable (Graph) throws -> (loss: TensorID, compare: [TensorID])
        var testDescription: String { name }
    }

    static func p(_ g: Graph, _ name: String, _ shape: [Int]) throws -> TensorID {
        try g.parameter(name, shape: shape, initializer: .zeros, decay: true)
    }

    static let cases: [Case] = [
        Case(name: "embedding 37×13 from 11 rows", tolerance: 1e-7, intBounds: ["ids": 11]) { g in
            let out = try g.embedding(ids: g.input("ids", shape: [37], dtype: .int32), table: p(g, "table", [11, 13]))
            return (try projectedLoss(g, out), [out])
        },
        Case(name: "embedding many repeated ids: 5000 rows from 3, 300 channels", tolerance: 1e-7, intBounds: ["ids": 3]) { g in
            let out = try g.embedding(ids: g.input("ids", shape: [5000], dtype: .int32), table: p(g, "table", [3, 300]))
            return (try projectedLoss(g, out), [out])
        },
        Case(name: "linear 37×29 → 23 with bias", tolerance: 5e-4) { g in
            let out = try g.linear(p(g, "x", [37, 29]), weight: p(g, "w", [23, 29]), bias: p(g, "b", [23]))
            return (try projectedLoss(g, out), [out])
        },
        Case(name: "linear 130×67 → 71 without bias (several tiles)", tolerance: 5e-4) { g in
            let out = try g.linear(p(g, "x", [2, 65, 67]), weight: p(g, "w", [71, 67]), bias: nil)
            return (try projectedLoss(g, out), [out])
        },
        // 3×3 tiles of 128 with ragged edges in every product: x·wᵀ [300,270], dout·w [300,260], doutᵀ·x [270,260].
        Case(name: "linear 300×260 → 270 with bias (several large tiles)", tolerance: 5e-4) { g in
            let out = try g.linear(p(g, "x", [300, 260]), weight: p(g, "w", [270, 260]), bias: p(g, "b", [270]))
            return (try projectedLoss(g, out), [out])
        },
        Case(name: "linear many rows: 5000×7 → 9 with bias", tolerance: 5e-4) { g in
            let out = try g.linear(p(g, "x", [5000, 7]), weight: p(g, "w", [9, 7]), bias: p(g, "b", [9]))
            return (try projectedLoss(g, out), [out])
        },
        Case(name: "add", tolerance: 1e-7) { g in
            let out = try g.add(p(g, "a", [7, 19]), p(g, "b", [7, 19]))
            return (try projectedLoss(g, out), [out])
        },
        Case(name: "add x + x", tolerance: 1e-7) { g in
            let x = try p(g, "x", [3, 17])
            let out = try g.add(x, x)
            return (try projectedLoss(g, out), [out])
        },
        Case(name: "add_broadcast", tolerance: 1e-6) { g in
            let out = try g.add(p(g, "x", [5, 3, 11]), p(g, "y", [3, 11]))
            return (try projectedLoss(g, out), [out])
        },
        Case(name: "add_broadcast many rows: 700 × [3,11]", tolerance: 1e-6) { g in
            let out = try g.add(p(g, "x", [700, 3, 11]), p(g, "y", [3, 11]))
            return (try projectedLoss(g, out), [out])
        },
        Case(name: "mul", tolerance: 1e-7) { g in
            let out = try g.mul(p(g, "a", [9, 13]), p(g, "b", [9, 13]))
            return (try projectedLoss(g, out), [out])
        },
        Case(name: "scale", tolerance: 1e-7) { g in
            let out = try g.scale(p(g, "x", [131]), by: -0.37)
            return (try projectedLoss(g, out), [out])
        },
        Case(name: "gelu", tolerance: 1e-7) { g in
            let out = try g.gelu(p(g, "x", [3, 97]))
            return (try projectedLoss(g, out), [out])
        },
        Case(name: "sequence slice and concat [3, 11, 5]", tolerance: 1e-7) { g in
            let x = try p(g, "x", [3, 11, 5])
            let out = try g.sequenceConcat(g.sequenceSlice(x, 7..<11), g.sequenceSlice(x, 0..<9))
            return (try projectedLoss(g, out), [out])
        },
        Case(name: "sequence concat large: [70001, 1, 3] and [70001, 2, 3]", tolerance: 1e-7) { g in
            let out = try g.sequenceConcat(p(g, "a", [70001, 1, 3]), p(g, "b", [70001, 2, 3]))
            return (try projectedLoss(g, out), [out])
        },
        Case(name: "layer_norm 23×37", tolerance: 1e-6) { g in
            let out = try g.layerNorm(p(g, "x", [23, 37]), weight: p(g, "w", [37]), bias: p(g, "b", [37]))
            return (try projectedLoss(g, out), [out])
        },
        Case(name: "layer_norm 23×1000 (rows wider than a workgroup)", tolerance: 1e-6) { g in
            let out = try g.layerNorm(p(g, "x", [23, 1000]), weight: p(g, "w", [1000]), bias: p(g, "b", [1000]))
            return (try projectedLoss(g, out), [out])
        },
        Case(name: "layer_norm many rows: 300×45", tolerance: 1e-6) { g in
            let out = try g.layerNorm(p(g, "x", [300, 45]), weight: p(g, "w", [45]), bias: p(g, "b", [45]))
            return (try projectedLoss(g, out), [out])
        },
        // Weight and bias as inputs here: their gradients sum 70001 terms of random sign, which
        // Float cannot sum to 1e-6 on either backend (the small case checks them).
        Case(name: "layer_norm large: 70001 rows", tolerance: 1e-6) { g in
            let out = try g.layerNorm(p(g, "x", [70001, 3]), weight: g.input("w", shape: [3], dtype: .float32),
                                      bias: g.input("b", shape: [3], dtype: .float32))
            return (try projectedLoss(g, out), [out])
        },
        Case(name: "attention causal B2 T19 C12 H3", tolerance: 5e-4) { g in
            let out = try g.attention(p(g, "qkv", [2, 19, 36]), heads: 3, mask: .causal)
            return (try projectedLoss(g, out), [out])
        },
        Case(name: "attention bidirectional B1 T70 C8 H2", tolerance: 5e-4) { g in
            let out = try g.attention(p(g, "qkv", [1, 70, 24]), heads: 2, mask: .bidirectional)
            return (try projectedLoss(g, out), [out])
        },
        Case(name: "attention prefix 5 and tail block 9, T13", tolerance: 5e-4) { g in
            let a = try g.attention(p(g, "qkv", [2, 13, 12]), heads: 2, mask: .prefix(length: 5))
            let b = try g.attention(p(g, "qkv2", [2, 13, 12]), heads: 2, mask: .tailBlock(start: 9))
            return (try g.add(projectedLoss(g, a), g.mean(b)), [a, b])
        },
        // The fused kernels' tiles: several query and key blocks per head, skipped blocks,
        // rows split over invocations (D = 64), odd head sizes.
        Case(name: "attention causal B2 T200 C128 H2 (D64)", tolerance: 5e-4) { g in
            let out = try g.attention(p(g, "qkv", [2, 200, 384]), heads: 2, mask: .causal)
            return (try projectedLoss(g, out), [out])
        },
        Case(name: "attention bidirectional B1 T130 C64 H2 (D32)", tolerance: 5e-4) { g in
            let out = try g.attention(p(g, "qkv", [1, 130, 192]), heads: 2, mask: .bidirectional)
            return (try projectedLoss(g, out), [out])
        },
        Case(name: "attention prefix 45 and tail block 70, T100 D8", tolerance: 5e-4) { g in
            let a = try g.attention(p(g, "qkv", [2, 100, 48]), heads: 2, mask: .prefix(length: 45))
            let b = try g.attention(p(g, "qkv2", [1, 100, 48]), heads: 2, mask: .tailBlock(start: 70))
            return (try g.add(projectedLoss(g, a), projectedLoss(g, b)), [a, b])
        },
        Case(name: "attention causal odd D: B2 T77 C20 H4 (D5), C18 H3 (D6)", tolerance: 5e-4) { g in
            let a = try g.attention(p(g, "qkv", [2, 77, 60]), heads: 4, mask: .causal)
            let b = try g.attention(p(g, "qkv2", [1, 77, 54]), heads: 3, mask: .bidirectional)
            return (try g.add(projectedLoss(g, a), projectedLoss(g, b)), [a, b])
        },
        Case(name: "attention large: 65600 rows", tolerance: 5e-4) { g in
            let out = try g.attention(p(g, "qkv", [8200, 4, 12]), heads: 2, mask: .causal)
            return (try projectedLoss(g, out), [out])
        },
        Case(name: "cross_entropy 31×67", tolerance: 1e-6, intBounds: ["targets": 67]) { g in
            let loss = try g.crossEntropy(logits: p(g, "z", [31, 67]), targets: g.input("targets", shape: [31], dtype: .int32),
                                          weights: g.input("weights", shape: [31], dtype: .float32))
            return (loss, [loss])
        },
        Case(name: "cross_entropy per row 31×67", tolerance: 1e-6, intBounds: ["targets": 67]) { g in
            let loss = try g.crossEntropy(logits: p(g, "z", [31, 67]), targets: g.input("targets", shape: [31], dtype: .int32),
                                          weights: g.input("weights", shape: [31], dtype: .float32), normalizer: .rows)
            return (loss, [loss])
        },
        Case(name: "cross_entropy large: 66000 rows", tolerance: 1e-6, intBounds: ["targets": 3]) { g in
            let loss = try g.crossEntropy(logits: p(g, "z", [66000, 3]), targets: g.input("targets", shape: [66000], dtype: .int32),
                                          weights: g.input("weights", shape: [66000], dtype: .float32))
            return (loss, [loss])
        },
        Case(name: "mse 29×5, gradient to both sides", tolerance: 1e-6) { g in
            let loss = try g.mse(prediction: p(g, "p", [29, 5]), target: p(g, "t", [29, 5]),
                                 weights: g.input("weights", shape: [29], dtype: .float32))
            return (loss, [loss])
        },
        Case(name: "mean", tolerance: 1e-6) { g in
            let loss = try g.mean(p(g, "x", [1001]))
            return (loss, [loss])
        },
        Case(name: "mean large: 1100003 elements", tolerance: 1e-6) { g in
            let loss = try g.mean(p(g, "x", [1_100_003]))
            return (loss, [loss])
        },
    ]

    @Test(arguments: cases) func matchesTheCPU(_ c: Case) throws {
        try check(c, matmul: nil)
    }

    /// The linear cases again with each matrix-product kernel (a device uses one of them).
    @Test(arguments: cases.filter { $0.name.hasPrefix("linear") }, MatmulKernel.allCases)
    func everyMatmulKernelMatchesTheCPU(_ c: Case, _ kernel: MatmulKernel) throws {
        try check(c, matmul: kernel)
    }

    func check(_ c: Case, matmul: MatmulKernel?) throws {
        let device = try testDevice()
        if let matmul { device.matmul = matmul }
        let cpu = try runGraph(on: CPUBackend(), intBounds: c.intBounds, build: c.build)
        let vulkan = try runGraph(on: VulkanBackend(device: device), intBounds: c.intBounds, build: c.build)
        for (i, (v, r)) in zip(vulkan.outputs, cpu.outputs).enumerated() {
            #expect(!hasNaN(v), "output \(i) has NaN")
            #expect(nmse(v, r) <= c.tolerance, "output \(i): NMSE \(nmse(v, r))")
        }
        #expect(!hasNaN(vulkan.gradients), "gradients have NaN")
        #expect(vulkan.padding.allSatisfy { $0 == 0 }, "a kernel wrote into the gradient buffer's padding")
        #expect(vulkan.arenaGuardsOverwritten == 0, "kernels wrote \(vulkan.arenaGuardsOverwritten) arena elements outside every tensor")
        #expect(nmse(vulkan.gradients, cpu.gradients) <= c.tolerance, "gradients: NMSE \(nmse(vulkan.gradients, cpu.gradients))")
        #expect(cpu.gradients.contains { $0 != 0 }, "the case must produce gradients")
        device.expectNoValidationErrors()
    }

    @Test(arguments: MomentPrecision.allCases)
    func adamwGradientNormAndClippingMatchTheCPU(moments: MomentPrecision) throws {
        let device = try testDevice()
        let settings = AdamWSettings(learningRate: 3e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1)
        let build: (Graph) throws -> (loss: TensorID, compare: [TensorID]) = { g in
            let x = try g.parameter("x", shape: [50000], initializer: .zeros, decay: true)
            let b = try g.parameter("bias", shape: [7], initializer: .zeros, decay: false)
            let out = try g.add(g.scale(g.add(x, x), by: 3), g.scale(x, by: 1))
            return (try g.add(projectedLoss(g, out), g.mean(g.mul(b, b))), [])
        }
        var results: [(norm: Double, values: [Float], moments: [Float])] = []
        for backend: Backend in [CPUBackend(), try VulkanBackend(device: device)] {
            let store = ParameterStore()
            let graph = Graph(parameters: store)
            let built = try build(graph)
            try graph.differentiate(loss: built.loss)
            store.materialize(seed: 3, memory: backend.parameterMemory(), moments: moments)
            var rng = SeededRNG(seed: 11)
            for i in 0..<store.count { store.values![i] = rng.uniform() }
            let exe = try backend.compile(graph)
            for (id, t) in graph.tensors.enumerated() where t.storage == .input {
                let v = exe.floatInput(id)
                for i in v.indices { v[i] = rng.uniform() }
            }
            var norm = 0.0
            for step in 1...3 {
                store.zeroGradients()
                exe.forward()
                exe.backward(seed: 1)
                norm = backend.gradientNorm(store)
                backend.scaleGradients(store, by: 0.5)
                backend.adamwStep(store, settings: settings, step: step)
            }
            // Both moments of every parameter, widened: the bfloat16 pairs round alike on both.
            var m = [Float](), v = [Float]()
            for info in store.parameters {
                var pm = [Float](repeating: 0, count: info.count), pv = pm
                store.readMoments(of: info, m: &pm, v: &pv)
                m += pm
                v += pv
            }
            results.append((norm, Array(UnsafeBufferPointer(start: store.values!, count: store.count)), m + v))
        }
        let (cpu, vulkan) = (results[0], results[1])
        #expect(abs(vulkan.norm - cpu.norm) / cpu.norm <= 1e-5, "gradient norm \(vulkan.norm) vs \(cpu.norm)")
        #expect(!hasNaN(vulkan.values))
        #expect(nmse(vulkan.values, cpu.values) <= 1e-7, "parameters after 3 AdamW steps: NMSE \(nmse(vulkan.values, cpu.values))")
        #expect(nmse(vulkan.moments, cpu.moments) <= 1e-7, "moments after 3 AdamW steps: NMSE \(nmse(vulkan.moments, cpu.moments))")
        #expect(cpu.moments.contains { $0 != 0 })
        device.expectNoValidationErrors()
    }
}

/// attention_decode (generation only, no backward): the same steps on both backends, the
/// cache carried from step to step in each executable's state.
@Suite struct AttentionDecodeParityTests {
    @Test func stepsMatchTheCPU() throws {
        let device = try testDevice()
        let (T, C, H, maxLength) = (7, 12, 3, 9)
        var rng = SeededRNG(seed: 5)
        let qkvs = (0..<T).map { _ in rng.uniform(count: 3 * C) }
        var outputs: [[[Float]]] = []
        for backend: Backend in [CPUBackend(), try VulkanBackend(device: device)] {
            let store = ParameterStore()
            let g = Graph(parameters: store)
            let qkv = g.input("qkv", shape: [1, 1, 3 * C], dtype: .float32)
            let position = g.input("position", shape: [1], dtype: .int32)
            let keys = g.state("keys", shape: [maxLength, C]), values = g.state("values", shape: [maxLength, C])
            let out = try g.attentionDecode(qkv, keys: keys, values: values, position: position, heads: H)
            try g.markOutput(out)
            store.materialize(seed: 1, memory: backend.parameterMemory())
            let exe = try backend.compile(g)
            var steps: [[Float]] = []
            for t in 0..<T {
                let input = exe.floatInput(qkv)
                for i in input.indices { input[i] = qkvs[t][i] }
                exe.int32Input(position)[0] = Int32(t)
                exe.forward()
                steps.append(exe.read(out))
            }
            outputs.append(steps)
        }
        for t in 0..<T {
            #expect(!hasNaN(outputs[1][t]))
            #expect(nmse(outputs[1][t], outputs[0][t]) <= 5e-4, "step \(t): NMSE \(nmse(outputs[1][t], outputs[0][t]))")
        }
        device.expectNoValidationErrors()
        #expect(throws: GraphError.self) {
            let g = Graph(parameters: ParameterStore())
            let w = try g.parameter("w", shape: [1, 1, 3 * C], initializer: .zeros, decay: false)
            let out = try g.attentionDecode(w, keys: g.state("k", shape: [4, C]), values: g.state("v", shape: [4, C]),
                                            position: g.input("p", shape: [1], dtype: .int32), heads: H)
            try g.differentiate(loss: g.mean(out))
        }
    }
}
