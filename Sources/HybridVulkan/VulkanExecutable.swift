import HybridCore

/// A graph bound to device memory, its forward and backward recorded once as command buffers
/// and replayed each run. Buffers: the arena (activations and their gradients, laid out by
/// `MemoryPlan`), the parameter store's four, `inputs` (host-visible: every graph input and state, the
/// loss seed and the attention key windows) and `aux` (loss normalizers, per-row losses, the
/// attention backward's scores and the reductions' partial sums).
final class VulkanExecutable: Executable {
    let graph: Graph
    let plan: MemoryPlan
    let device: VulkanDevice
    let arena: VulkanBuffer
    private let inputs: VulkanBuffer
    private let aux: VulkanBuffer
    private let parameters: VulkanParameterMemory
    private let set: DescriptorSet
    private var operands: [UInt32?]
    private var inputOffsets: [TensorID: Int] = [:]
    private let seedOffset: Int
    /// Per attention node: where its key windows (start[T], end[T]) are in `inputs`.
    private var keyWindows: [Int: Int] = [:]
    /// Per loss node: its normalizer slot in `aux`.
    private var normalizers: [Int: Int] = [:]
    private let rowLossOffset: Int
    private let scoresOffset: Int
    /// Partial sums of the two-pass reductions (VulkanExecutable+Reductions.swift).
    let reductionOffset: Int
    private var forwardRecording: CommandRecording!
    private var backwardRecording: CommandRecording!
    /// With a profile set: one recording per forward node and per backward step, each run and
    /// timed on its own (slower: a wait per op). Recorded on first use.
    private var profiled: (forward: [CommandRecording], backward: [CommandRecording])?
    var profile: OpProfile?

    init(graph: Graph, device: VulkanDevice) throws {
        guard graph.parameters.isMaterialized else {
            throw GraphError("parameters must be materialized before a graph is compiled")
        }
        guard let memory = graph.parameters.memory as? VulkanParameterMemory, memory.owner === device else {
            throw GraphError("the graph's parameters are not in this Vulkan device's memory (materialize them with the backend's parameterMemory())")
        }
        self.graph = graph
        self.device = device
        parameters = memory
        let plan = MemoryPlan(graph: graph)
        self.plan = plan

        // inputs: each graph input 16-aligned, then the seed, then the key windows.
        var inputCount = 0
        func reserveInput(_ n: Int) -> Int {
            let at = inputCount
            inputCount += (max(n, 1) + 15) & ~15
            return at
        }
        for (id, t) in graph.tensors.enumerated() where t.storage == .input || t.storage == .state { inputOffsets[id] = reserveInput(t.count) }
        seedOffset = reserveInput(1)
        // aux: normalizers, then per-row losses, attention scores and reduction partials (each
        // shared by its nodes, which run one after another).
        var auxCount = 0, rowLoss = 1, scores = 1, reduction = 1
        for (index, node) in graph.nodes.enumerated() {
            reduction = max(reduction, Self.reductionScratch(node, graph))
            switch node.op {
            case .attention:
                keyWindows[index] = reserveInput(2 * graph[node.inputs[0]].shape[1])
                scores = max(scores, graph[node.saved[0]].count)
            case .crossEntropy, .mse:
                normalizers[index] = auxCount
                auxCount += 1
                rowLoss = max(rowLoss, graph[node.inputs[0]].rows)
            default: break
            }
        }
        auxCount = (auxCount + 15) & ~15
        rowLossOffset = auxCount
        auxCount += (rowLoss + 15) & ~15
        scoresOffset = auxCount
        auxCount += (scores + 15) & ~15
        reductionOffset = auxCount
        auxCount += reduction

        arena = try VulkanBuffer(device, count: plan.size, hostVisible: false, purpose: "the activation arena")
        inputs = try VulkanBuffer(device, count: inputCount, hostVisible: true, purpose: "the graph inputs")
        aux = try VulkanBuffer(device, count: auxCount, hostVisible: false, purpose: "loss and attention scratch")
        set = try DescriptorSet(device, buffers: [arena] + memory.buffers + [inputs, aux])

        operands = graph.tensors.enumerated().map { id, t in
            switch t.storage {
            case .parameter(let offset): return operand(.values, offset)
            case .parameterGradient(let offset): return operand(.gradients, offset)
            case .activation, .activationGradient: return plan.offsets[id].map { operand(.arena, $0) }
            case .input, .state: return nil
            }
        }
        for (id, offset) in inputOffsets { operands[id] = operand(.inputs, offset) }
        let ints = UnsafeMutableRawPointer(inputs.mapped!).assumingMemoryBound(to: Int32.self)
        for (index, at) in keyWindows {
            guard case .attention(_, let mask) = graph.nodes[index].op else { continue }
            let T = graph[graph.nodes[index].inputs[0]].shape[1]
            for t in 0..<T {
                let r = mask.keyRange(row: t, length: T)
                ints[at + t] = Int32(r.lowerBound)
                ints[at + T + t] = Int32(r.upperBound)
            }
        }
        let forward = try CommandRecording(device, set: set), backward = try CommandRecording(device, set: set)
        try recordForward { _ in forward }
        try recordBackward { _ in backward }
        forwardRecording = forward
        backwardRecording = backward
    }

    func int32Input(_ id: TensorID) -> UnsafeMutableBufferPointer<Int32> {
        precondition(graph[id].storage == .input && graph[id].dtype == .int32, "\(graph[id].name) is not an int32 input")
        let base = UnsafeMutableRawPointer(inputs.mapped! + inputOffsets[id]!).assumingMemoryBound(to: Int32.self)
        return UnsafeMutableBufferPointer(start: base, count: graph[id].count)
    }

    func floatInput(_ id: TensorID) -> UnsafeMutableBufferPointer<Float> {
        precondition(graph[id].storage == .input && graph[id].dtype == .float32, "\(graph[id].name) is not a float input")
        return UnsafeMutableBufferPointer(start: inputs.mapped! + inputOffsets[id]!, count: graph[id].count)
    }

    func forward() {
        guard let profile else { return run("the forward of a graph") { try forwardRecording.run() } }
        run("the forward of a graph") {
            for (index, recording) in try profiledRecordings().forward.enumerated() {
                let t0 = ContinuousClock.now
                try recording.run()
                profile.record(graph.nodes[index].op.name, ContinuousClock.now - t0)
            }
        }
    }

    func backward(seed: Float) {
        precondition(graph.loss.flatMap { graph[$0].gradient } != nil, "backward on a graph without a differentiated loss")
        inputs.mapped![seedOffset] = seed
        guard let profile else { return run("the backward of a graph") { try backwardRecording.run() } }
        run("the backward of a graph") {
            for (k, recording) in try profiledRecordings().backward.enumerated() {
                let t0 = ContinuousClock.now
                try recording.run()
                profile.record(graph.nodes[graph.backwardSteps[k].node].op.name + " backward", ContinuousClock.now - t0)
            }
        }
    }

    private func profiledRecordings() throws -> (forward: [CommandRecording], backward: [CommandRecording]) {
        if let profiled { return profiled }
        var forward: [CommandRecording] = [], backward: [CommandRecording] = []
        try recordForward { _ in
            forward.append(try CommandRecording(device, set: set))
            return forward.last!
        }
        try recordBackward { _ in
            backward.append(try CommandRecording(device, set: set))
            return backward.last!
        }
        profiled = (forward, backward)
        return (forward, backward)
    }

    func read(_ id: TensorID) -> [Float] {
        [Float](unsafeUninitializedCapacity: graph[id].count) { buffer, count in
            read(id, offset: 0, count: graph[id].count, into: buffer.baseAddress!)
            count = graph[id].count
        }
    }

    func read(_ id: TensorID, offset: Int, count: Int, into: UnsafeMutablePointer<Float>) {
        precondition(offset >= 0 && offset + count <= graph[id].count, "read past the end of \(graph[id].name)")
        guard let r = operands[id] else { preconditionFailure("\(graph[id].name) was never placed (unused)") }
        let buffer: VulkanBuffer = switch BufferSlot(rawValue: r >> 29)! {
        case .arena: arena
        case .values: parameters.buffers[0]
        case .gradients: parameters.buffers[1]
        case .inputs: inputs
        default: preconditionFailure("\(graph[id].name) is not readable")
        }
        run("reading \(graph[id].name)") { try buffer.download(offset: Int(r & 0x1FFF_FFFF) + offset, count: count, into: into) }
    }

    // MARK: recording

    private func o(_ id: TensorID) -> UInt32 { operands[id]! }
    /// An absent gradient: an operand no kernel reads (its flag is off).
    private func o(_ id: TensorID?) -> UInt32 { id.map { operands[$0]! } ?? 0 }
    private func u(_ n: Int) -> UInt32 { UInt32(n) }

    /// Records every forward node into `recording(node index)`.
    private func recordForward(_ recording: (Int) throws -> CommandRecording) throws {
        for (index, node) in graph.nodes.enumerated() {
            let r = try recording(index)
            let i = node.inputs, out = o(node.output)
            switch node.op {
            case .embedding:
                let N = graph[i[0]].count, C = graph[i[1]].shape[1]
                try r.dispatch(.embedding, push: [o(i[1]), o(i[0]), out, u(N), u(C), 0], items: N * C)
            case .linear(let hasBias):
                let x = graph[i[0]], w = graph[i[1]]
                try matmul(r, a: o(i[0]), b: o(i[1]), c: out, bias: hasBias ? o(i[2]) : nil, M: x.rows, N: w.shape[0], K: w.shape[1],
                           lda: w.shape[1], ldb: w.shape[1], ldc: w.shape[0], transA: false, transB: true, beta: 0)
            case .add:
                try r.dispatch(.add, push: [out, o(i[0]), o(i[1]), u(graph[node.output].count)], items: graph[node.output].count)
            case .addBroadcast:
                let total = graph[i[0]].count
                try r.dispatch(.add_broadcast, push: [out, o(i[0]), o(i[1]), u(graph[i[1]].count), u(total)], items: total)
            case .mul:
                try r.dispatch(.mul, push: [out, o(i[0]), o(i[1]), u(graph[node.output].count)], items: graph[node.output].count)
            case .scale(let s):
                let n = graph[node.output].count
                try r.dispatch(.scale, push: [out, o(i[0]), u(n), s.bitPattern], items: n)
            case .layerNorm(let eps):
                let x = graph[i[0]]
                try layerNorm(r, out: out, mean: o(node.saved[0]), rstd: o(node.saved[1]), x: o(i[0]), w: o(i[1]), b: o(i[2]),
                              dout: nil, rows: x.rows, columns: x.columns, eps: eps)
            case .gelu:
                let n = graph[node.output].count
                try r.dispatch(.gelu, push: [out, o(i[0]), 0, u(n), 0], items: n)
            case .attention(let heads, _):
                let s = graph[i[0]].shape, windows = keyWindows[index]!
                try r.dispatch(.attention, push: [out, o(node.saved[0]), o(i[0]), operand(.inputs, windows), operand(.inputs, windows + s[1]),
                                                  u(s[0]), u(s[1]), u(s[2] / 3), u(heads)], items: s[0] * heads * s[1])
            case .attentionDecode(let heads):
                let cache = graph[i[1]].shape
                try r.dispatch(.attention_decode, push: [out, o(i[0]), o(i[1]), o(i[2]), o(i[3]), u(cache[1]), u(heads)], items: heads)
            case .crossEntropy:
                let logits = graph[i[0]]
                try r.dispatch(.cross_entropy, push: [o(node.saved[0]), o(i[0]), o(i[1]), o(i[2]), operand(.aux, rowLossOffset),
                                                      u(logits.rows), u(logits.columns)], items: logits.rows)
                try sum(r, into: out, rows: logits.rows, weights: o(i[2]), normalizer: normalizers[index]!, divisor: 1)
            case .mse:
                let p = graph[i[0]]
                try r.dispatch(.mse, push: [o(i[0]), o(i[1]), o(i[2]), operand(.aux, rowLossOffset), 0, 0, 0, 0,
                                            u(p.rows), u(p.columns), 0, 0], items: p.rows)
                try sum(r, into: out, rows: p.rows, weights: o(i[2]), normalizer: normalizers[index]!, divisor: Float(p.columns))
            case .mean:
                let n = graph[i[0]].count
                if n == 0 { try fill(r, node.output, value: 0); break }
                try sum(r, into: out, x: o(i[0]), n: n, weights: nil, divisor: Float(n))
            }
        }
    }

    /// Records the seed copy and every backward step into `recording(step index)`.
    private func recordBackward(_ recording: (Int) throws -> CommandRecording) throws {
        guard let loss = graph.loss, let lossGradient = graph[loss].gradient else { return }
        for (k, step) in graph.backwardSteps.enumerated() {
            let r = try recording(k)
            if k == 0 { try r.copy(from: inputs, offset: seedOffset, to: arena, offset: plan.offsets[lossGradient]!, count: 1) }
            for g in plan.zeroBeforeStep[k] { try fill(r, g, value: 0) }
            let node = graph.nodes[step.node]
            let i = node.inputs, d = step.inputGradients, dout = o(step.outputGradient)
            switch node.op {
            case .embedding:
                guard let dtable = d[1] else { break }
                let N = graph[i[0]].count, C = graph[i[1]].shape[1]
                try embeddingBackward(r, dtable: o(dtable), ids: o(i[0]), dout: dout, rows: N, columns: C)
            case .linear(let hasBias):
                let N = graph[i[0]].rows, K = graph[i[1]].shape[1], M = graph[i[1]].shape[0]
                if let dx = d[0], K > 0 {
                    try matmul(r, a: dout, b: o(i[1]), c: o(dx), bias: nil, M: N, N: K, K: M, lda: M, ldb: K, ldc: K,
                               transA: false, transB: false, beta: 1)
                }
                if let dw = d[1], K > 0 {
                    try matmul(r, a: dout, b: o(i[0]), c: o(dw), bias: nil, M: M, N: K, K: N, lda: M, ldb: K, ldc: K,
                               transA: true, transB: false, beta: 1)
                }
                if hasBias, let db = d[2] { try columnSum(r, into: o(db), x: dout, rows: N, columns: M) }
            case .add:
                let n = graph[node.output].count
                for case let g? in [d[0], d[1]] { try r.dispatch(.axpy, push: [o(g), dout, u(n), Float(1).bitPattern], items: n) }
            case .addBroadcast:
                let n = graph[i[1]].count, R = graph[i[0]].count / max(n, 1)
                if let dx = d[0] { try r.dispatch(.axpy, push: [o(dx), dout, u(R * n), Float(1).bitPattern], items: R * n) }
                if let dy = d[1] { try columnSum(r, into: o(dy), x: dout, rows: R, columns: n) }
            case .mul:
                let n = graph[node.output].count
                if let da = d[0] { try r.dispatch(.mul_accumulate, push: [o(da), dout, o(i[1]), u(n)], items: n) }
                if let db = d[1] { try r.dispatch(.mul_accumulate, push: [o(db), dout, o(i[0]), u(n)], items: n) }
            case .scale(let s):
                let n = graph[node.output].count
                if let dx = d[0] { try r.dispatch(.axpy, push: [o(dx), dout, u(n), s.bitPattern], items: n) }
            case .layerNorm(let eps):
                let x = graph[i[0]], mean = o(node.saved[0]), rstd = o(node.saved[1])
                if let dx = d[0] {
                    try layerNorm(r, out: o(dx), mean: mean, rstd: rstd, x: o(i[0]), w: o(i[1]), b: o(i[2]), dout: dout,
                                  rows: x.rows, columns: x.columns, eps: eps)
                }
                try layerNormParameters(r, dw: d[1].map(o), db: d[2].map(o), dout: dout, x: o(i[0]), mean: mean, rstd: rstd,
                                        rows: x.rows, columns: x.columns)
            case .gelu:
                let n = graph[node.output].count
                if let dx = d[0] { try r.dispatch(.gelu, push: [o(dx), o(i[0]), dout, u(n), 1], items: n) }
            case .attention(let heads, _):
                guard let dqkv = d[0] else { break }
                let s = graph[i[0]].shape, windows = keyWindows[step.node]!
                let push = [o(dqkv), operand(.aux, scoresOffset), dout, o(i[0]), o(node.saved[0]),
                            operand(.inputs, windows), operand(.inputs, windows + s[1]), u(s[0]), u(s[1]), u(s[2] / 3), u(heads)]
                try r.dispatch(.attention_backward, push: push, items: s[0] * heads * s[1])
                try r.dispatch(.attention_backward_keys, push: push, items: s[0] * s[1] * s[2] / 3)
            case .attentionDecode:
                preconditionFailure("attention_decode has no backward")
            case .crossEntropy:
                guard let dlogits = d[0] else { break }
                let logits = graph[i[0]]
                try r.dispatch(.cross_entropy_backward, push: [o(dlogits), o(node.saved[0]), o(i[1]), o(i[2]), dout,
                                                               operand(.aux, normalizers[step.node]!), u(logits.rows), u(logits.columns)],
                               items: logits.count)
            case .mse:
                let p = graph[i[0]]
                let which = (d[0] != nil ? 1 : 0) | (d[1] != nil ? 2 : 0)
                guard which != 0, p.columns > 0 else { break }
                try r.dispatch(.mse, push: [o(i[0]), o(i[1]), o(i[2]), 0, o(d[0]), o(d[1]), dout, operand(.aux, normalizers[step.node]!),
                                            u(p.rows), u(p.columns), 1, u(which)], items: p.count)
            case .mean:
                let n = graph[i[0]].count
                if let dx = d[0], n > 0 { try r.dispatch(.mean_backward, push: [o(dx), dout, u(n)], items: n) }
            }
        }
    }

    private func matmul(_ r: CommandRecording, a: UInt32, b: UInt32, c: UInt32, bias: UInt32?, M: Int, N: Int, K: Int,
                        lda: Int, ldb: Int, ldc: Int, transA: Bool, transB: Bool, beta: Float) throws {
        guard M > 0, N > 0 else { return }
        if usesLargeMatmul(M: M, N: N) {
            return try matmulLarge(r, a: a, b: b, c: c, bias: bias, M: M, N: N, K: K, lda: lda, ldb: ldb, ldc: ldc,
                                   transA: transA, transB: transB, beta: beta)
        }
        let kernel: Kernel = device.matmul == .tiled ? .matmul : .matmul_direct
        let tile = kernel == .matmul ? Int(kernel.defaultConstants(device.info)[0]) * 4 : 4
        let tiles = ((M + tile - 1) / tile) * ((N + tile - 1) / tile)
        try r.dispatch(kernel, push: [a, b, c, bias ?? 0, u(M), u(N), u(K), u(lda), u(ldb), u(ldc), transA ? 1 : 0, transB ? 1 : 0,
                                       bias == nil ? 0 : 1, Float(1).bitPattern, beta.bitPattern],
                       groups: kernel == .matmul ? tiles : kernel.groups(tiles, device.info))
    }

    /// out = Σ rowLoss[0..<rows] / (divisor · max(Σ weights, 1)), the normalizer kept for the backward.
    private func sum(_ r: CommandRecording, into out: UInt32, rows: Int, weights: UInt32, normalizer: Int, divisor: Float) throws {
        try sum(r, into: out, x: operand(.aux, rowLossOffset), n: rows, weights: (weights, rows, operand(.aux, normalizer)), divisor: divisor)
    }

    private func fill(_ r: CommandRecording, _ id: TensorID, value: Float) throws {
        try r.fill(arena, offset: plan.offsets[id]!, count: graph[id].count, value: value.bitPattern)
    }
}
