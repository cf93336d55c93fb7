import HybridCore

/// A graph bound to device memory, its forward and backward recorded once as command buffers
/// and replayed each run. Buffers, bound in this order: the arena's chunks (activations and
/// their gradients, laid out by `MemoryPlan` so none crosses a chunk), the parameter values'
/// and gradients' chunks, `inputs` (host-visible: every graph input and state, the loss seed
/// and the attention key windows) and `aux` (loss normalizers, per-row losses and each
/// attention node's log-sum-exp and delta rows, and the reductions' partial sums). Attention is fused (FlashAttention-2: no
/// [B,H,T,T] tensor). With `mixed`, the tensors of
/// `MixedPrecision.halved` are bfloat16 in the arena (half the words) and the kernels are the
/// mixed-precision build.
final class VulkanExecutable: Executable {
    let graph: Graph
    let plan: MemoryPlan
    let device: VulkanDevice
    let arena: VulkanStore
    private let inputs: VulkanBuffer
    private let aux: VulkanBuffer
    private let parameters: VulkanParameterMemory
    private let set: DescriptorSet
    /// Per tensor: where the kernels find it (nil: unplaced, or an input, found by `inputOffsets`).
    private var operands: [Operand?]
    private var inputOffsets: [TensorID: Int] = [:]
    private let seedOffset: Int
    /// Per attention node: where its key windows (start[T], end[T]) are in `inputs`.
    private var keyWindows: [Int: Int] = [:]
    /// Per loss node: its normalizer slot in `aux`.
    private var normalizers: [Int: Int] = [:]
    /// Per attention node: its lse[B,H,T] (forward to backward) then delta[B,H,T] in `aux`.
    private var attentionRows: [Int: Int] = [:]
    private let rowLossOffset: Int
    private let inputsBinding: UInt32, auxBinding: UInt32
    /// Partial sums of the two-pass reductions (VulkanExecutable+Reductions.swift).
    let reductionOffset: Int
    private var forwardRecording: CommandRecording!
    private var backwardRecording: CommandRecording!
    /// With a profile set: one recording per forward node and per backward step, each run and
    /// timed on its own (slower: a wait per op). Recorded on first use.
    private var profiled: (forward: [CommandRecording], backward: [CommandRecording])?
    var profile: OpProfile?

    let mixed: Bool

    init(graph: Graph, device: VulkanDevice, mixed: Bool = false) throws {
        guard graph.parameters.isMaterialized else {
            throw GraphError("parameters must be materialized before a graph is compiled")
        }
        guard let memory = graph.parameters.memory as? VulkanParameterMemory, memory.owner === device else {
            throw GraphError("the graph's parameters are not in this Vulkan device's memory (materialize them with the backend's parameterMemory())")
        }
        precondition(!mixed || device.info.storage16, "mixed precision on a device without 16-bit storage (VulkanBackend refuses it)")
        self.graph = graph
        self.device = device
        self.mixed = mixed
        parameters = memory
        let plan = MemoryPlan(graph: graph, chunk: device.chunkElements,
                              halved: mixed ? MixedPrecision.halved(graph) : [])
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
        // aux: normalizers, then per-row losses and reduction partials (each shared by its
        // nodes, which run one after another), then each attention node's lse and delta rows.
        var auxCount = 0, rowLoss = 1, attentionCount = 0, reduction = 1
        for (index, node) in graph.nodes.enumerated() {
            reduction = max(reduction, Self.reductionScratch(node, graph))
            switch node.op {
            case .attention(let heads, _):
                let s = graph[node.inputs[0]].shape
                keyWindows[index] = reserveInput(2 * s[1])
                attentionRows[index] = attentionCount
                attentionCount += 2 * ((s[0] * heads * s[1] + 15) & ~15)
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
        reductionOffset = auxCount
        auxCount += (reduction + 15) & ~15
        for index in attentionRows.keys { attentionRows[index]! += auxCount }
        auxCount += attentionCount

        let copy = try memory.prepare(graph.parameters, writes: [])
        try Self.checkFits(device, arena: plan.size, inputs: inputCount, aux: auxCount, graph: graph)
        arena = try VulkanStore(device, count: plan.size, purpose: "the activation arena")
        inputs = try VulkanBuffer(device, count: inputCount, hostVisible: true, purpose: "the graph inputs")
        aux = try VulkanBuffer(device, count: auxCount, hostVisible: false, purpose: "loss and attention scratch")
        let parameterChunks = copy.stores[0].chunks + copy.stores[1].chunks
        let bindings = arena.chunks + parameterChunks + [inputs, aux]
        guard bindings.count <= PipelineLayouts.bindingCount else {
            throw VulkanError("this graph needs \(bindings.count) buffers of at most \(device.bufferLimit >> 20) MiB on \(device.info.name) "
                + "(activations \(arena.chunks.count), parameters and gradients \(parameterChunks.count)); kernels bind \(PipelineLayouts.bindingCount)")
        }
        set = try DescriptorSet(device, buffers: bindings)
        let valuesBase = arena.chunks.count, gradientsBase = valuesBase + copy.stores[0].chunks.count
        inputsBinding = UInt32(bindings.count - 2)
        auxBinding = UInt32(bindings.count - 1)

        let arena = self.arena
        operands = try graph.tensors.enumerated().map { id, t in
            switch t.storage {
            case .parameter(let offset): return try copy.operand(base: valuesBase, offset: offset, count: t.count)
            case .parameterGradient(let offset): return try copy.operand(base: gradientsBase, offset: offset, count: t.count)
            case .activation, .activationGradient:
                guard let offset = plan.offsets[id] else { return nil }
                let (_, chunk, local) = try arena.locate(offset: offset, count: plan.words(id, of: graph))
                // A bfloat16 tensor's offset counts 2-byte elements (a chunk of 2³⁰ words holds 2³¹ of them).
                return plan.halved.contains(id) ? Operand(buffer: UInt32(chunk) | MixedPrecision.halfBit, offset: UInt32(2 * local))
                                                : Operand(buffer: UInt32(chunk), offset: UInt32(local))
            case .input, .state: return nil
            }
        }
        for (id, offset) in inputOffsets { operands[id] = Operand(buffer: inputsBinding, offset: UInt32(offset)) }
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
        let forward = try CommandRecording(device, set: set, mixed: mixed), backward = try CommandRecording(device, set: set, mixed: mixed)
        try recordForward { _ in forward }
        try recordBackward { _ in backward }
        forwardRecording = forward
        backwardRecording = backward
    }

    /// Refuses, before allocating, a graph whose buffers do not fit what is left of the
    /// device's memory, naming the sizes (a device-lost mid-step tells the user nothing).
    private static func checkFits(_ device: VulkanDevice, arena: Int, inputs: Int, aux: Int, graph: Graph) throws {
        let need = 4 * (arena + aux), have = device.memoryLimit - device.allocatedBytes
        guard need > have else { return }
        throw VulkanError("the graph's activations need \(mib(4 * arena)) and its scratch \(mib(4 * aux)) on \(device.info.name), "
            + "but only \(mib(max(have, 0))) of its \(mib(device.memoryLimit)) are free (\(mib(device.allocatedBytes)) already hold "
            + "parameters, gradients, AdamW moments and other graphs); use a smaller batch, sequence or model")
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
        run("the forward of a graph") {
            _ = try parameters.prepare(graph.parameters, writes: [])
            guard let profile else { return try forwardRecording.run() }
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
        run("the backward of a graph") {
            _ = try parameters.prepare(graph.parameters, writes: [.gradients])
            guard let profile else { return try backwardRecording.run() }
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
            forward.append(try CommandRecording(device, set: set, mixed: mixed))
            return forward.last!
        }
        try recordBackward { _ in
            backward.append(try CommandRecording(device, set: set, mixed: mixed))
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
        let t = graph[id]
        run("reading \(t.name)") {
            switch t.storage {
            case .activation, .activationGradient:
                guard let at = plan.offsets[id] else { preconditionFailure("\(t.name) was never placed (unused)") }
                guard plan.halved.contains(id) else { return try arena.download(offset: at + offset, count: count, into: into) }
                // The words holding elements offset ..< offset + count, two bfloat16 each (low half first).
                let first = offset / 2, words = (offset + count + 1) / 2 - first
                var packed = [Float](repeating: 0, count: words)
                try arena.download(offset: at + first, count: words, into: &packed)
                packed.withUnsafeBytes { raw in
                    let halves = raw.bindMemory(to: UInt16.self)
                    for k in 0..<count { into[k] = BFloat16.float(halves[offset - 2 * first + k]) }
                }
            case .input, .state:
                (into).update(from: inputs.mapped! + inputOffsets[id]! + offset, count: count)
            case .parameter, .parameterGradient:
                let which: ParameterBuffer = if case .parameter = t.storage { .values } else { .gradients }
                let copy = try parameters.prepare(graph.parameters, writes: [])
                guard let o = operands[id] else { preconditionFailure("\(t.name) was never placed") }
                let base = which == .values ? arena.chunks.count : arena.chunks.count + copy.stores[0].chunks.count
                try copy.stores[which.rawValue].chunks[Int(o.buffer) - base].download(offset: Int(o.offset) + offset, count: count, into: into)
            }
        }
    }

    // MARK: recording

    private func o(_ id: TensorID) -> Operand { operands[id]! }
    /// An absent gradient: an operand no kernel reads (its flag is off).
    private func o(_ id: TensorID?) -> Operand { id.map { operands[$0]! } ?? .none }
    private func u(_ n: Int) throws -> PushScalar { try .size(n) }
    func inputsAt(_ offset: Int) -> Operand { Operand(buffer: inputsBinding, offset: UInt32(offset)) }
    func auxAt(_ offset: Int) -> Operand { Operand(buffer: auxBinding, offset: UInt32(offset)) }

    /// Records every forward node into `recording(node index)`.
    private func recordForward(_ recording: (Int) throws -> CommandRecording) throws {
        for (index, node) in graph.nodes.enumerated() {
            let r = try recording(index)
            let i = node.inputs, out = o(node.output)
            switch node.op {
            case .embedding:
                let N = graph[i[0]].count, C = graph[i[1]].shape[1]
                try r.dispatch(.embedding, [o(i[1]), o(i[0]), out], [u(N), u(C)], items: N * C)
            case .linear(let hasBias):
                let x = graph[i[0]], w = graph[i[1]]
                try matmul(r, a: o(i[0]), b: o(i[1]), c: out, bias: hasBias ? o(i[2]) : nil, M: x.rows, N: w.shape[0], K: w.shape[1],
                           lda: w.shape[1], ldb: w.shape[1], ldc: w.shape[0], transA: false, transB: true, beta: 0)
            case .add:
                let n = graph[node.output].count
                try r.dispatch(.add, [out, o(i[0]), o(i[1])], [u(n)], items: n)
            case .addBroadcast:
                let total = graph[i[0]].count
                try r.dispatch(.add_broadcast, [out, o(i[0]), o(i[1])], [u(graph[i[1]].count), u(total)], items: total)
            case .mul:
                let n = graph[node.output].count
                try r.dispatch(.mul, [out, o(i[0]), o(i[1])], [u(n)], items: n)
            case .scale(let s):
                let n = graph[node.output].count
                try r.dispatch(.scale, [out, o(i[0])], [u(n), .float(s)], items: n)
            case .layerNorm(let eps):
                let x = graph[i[0]]
                try layerNorm(r, out: out, mean: o(node.saved[0]), rstd: o(node.saved[1]), x: o(i[0]), w: o(i[1]), b: o(i[2]),
                              dout: nil, rows: x.rows, columns: x.columns, eps: eps)
            case .gelu:
                let n = graph[node.output].count
                try r.dispatch(.gelu, [out, o(i[0]), .none], [u(n), 0], items: n)
            case .attention(let heads, _):
                let s = graph[i[0]].shape, windows = keyWindows[index]!
                try recordAttentionForward(r, out: out, lse: auxAt(attentionRows[index]!), qkv: o(i[0]),
                                           keyStart: inputsAt(windows), keyEnd: inputsAt(windows + s[1]),
                                           B: s[0], T: s[1], C: s[2] / 3, heads: heads)
            case .attentionDecode(let heads):
                let cache = graph[i[1]].shape
                try r.dispatch(.attention_decode, [out, o(i[0]), o(i[1]), o(i[2]), o(i[3])], [u(cache[1]), u(heads)], items: heads)
            case .crossEntropy(let normalizer):
                let logits = graph[i[0]]
                try r.dispatch(.cross_entropy, [o(node.saved[0]), o(i[0]), o(i[1]), o(i[2]), auxAt(rowLossOffset)],
                               [u(logits.rows), u(logits.columns)], items: logits.rows)
                try sum(r, into: out, rows: logits.rows, weights: o(i[2]), normalizer: normalizers[index]!, divisor: 1, byRows: normalizer == .rows)
            case .mse:
                let p = graph[i[0]]
                try r.dispatch(.mse, [o(i[0]), o(i[1]), o(i[2]), auxAt(rowLossOffset), .none, .none, .none, .none],
                               [u(p.rows), u(p.columns), 0, 0], items: p.rows)
                try sum(r, into: out, rows: p.rows, weights: o(i[2]), normalizer: normalizers[index]!, divisor: Float(p.columns))
            case .mean:
                let n = graph[i[0]].count
                if n == 0 { try fill(r, node.output, value: 0); break }
                try sum(r, into: out, x: o(i[0]), n: n, weights: nil, divisor: Float(n))
            case .sequenceSlice(let start, let length):
                let x = graph[i[0]].shape, C = x[2]
                try sequenceCopy(r, dst: out, dstStride: length * C, src: o(i[0]).advanced(by: start * C), srcStride: x[1] * C,
                                 n: length * C, blocks: x[0], accumulate: false)
            case .sequenceConcat:
                let a = graph[i[0]].shape, b = graph[i[1]].shape, C = a[2], T = a[1] + b[1]
                try sequenceCopy(r, dst: out, dstStride: T * C, src: o(i[0]), srcStride: a[1] * C,
                                 n: a[1] * C, blocks: a[0], accumulate: false, barrier: false)
                try sequenceCopy(r, dst: out.advanced(by: a[1] * C), dstStride: T * C, src: o(i[1]), srcStride: b[1] * C,
                                 n: b[1] * C, blocks: a[0], accumulate: false)
            }
        }
    }

    /// Records the seed copy and every backward step into `recording(step index)`.
    private func recordBackward(_ recording: (Int) throws -> CommandRecording) throws {
        guard let loss = graph.loss, let lossGradient = graph[loss].gradient else { return }
        for (k, step) in graph.backwardSteps.enumerated() {
            let r = try recording(k)
            if k == 0 {
                let (buffer, _, at) = try arena.locate(offset: plan.offsets[lossGradient]!, count: 1)
                try r.copy(from: inputs, offset: seedOffset, to: buffer, offset: at, count: 1)
            }
            for g in plan.zeroBeforeStep[k] { try fill(r, g, value: 0) }
            let node = graph.nodes[step.node]
            let i = node.inputs, d = step.inputGradients, dout = o(step.outputGradient)
            switch node.op {
            case .embedding:
                guard let dtable = d[1] else { break }
                let N = graph[i[0]].count, C = graph[i[1]].shape[1]
                try embeddingBackward(r, dtable: o(dtable), ids: o(i[0]), dout: dout, rows: N, columns: C)
            case .linear(let hasBias):
                // dx, dw and db read dout, x and w and write three different tensors: side by
                // side, one barrier after the last.
                let N = graph[i[0]].rows, K = graph[i[1]].shape[1], M = graph[i[1]].shape[0]
                let bias = hasBias && d[2] != nil, weights = d[1] != nil && K > 0
                if let dx = d[0], K > 0 {
                    try matmul(r, a: dout, b: o(i[1]), c: o(dx), bias: nil, M: N, N: K, K: M, lda: M, ldb: K, ldc: K,
                               transA: false, transB: false, beta: 1, barrier: !(weights || bias))
                }
                if let dw = d[1], K > 0 {
                    try matmul(r, a: dout, b: o(i[0]), c: o(dw), bias: nil, M: M, N: K, K: N, lda: M, ldb: K, ldc: K,
                               transA: true, transB: false, beta: 1, barrier: !bias)
                }
                if hasBias, let db = d[2] { try columnSum(r, into: o(db), x: dout, rows: N, columns: M) }
            case .add:
                let n = graph[node.output].count
                for case let g? in [d[0], d[1]] { try r.dispatch(.axpy, [o(g), dout], [u(n), 1.0], items: n) }
            case .addBroadcast:
                let n = graph[i[1]].count, R = graph[i[0]].count / max(n, 1)
                if let dx = d[0] { try r.dispatch(.axpy, [o(dx), dout], [u(R * n), 1.0], items: R * n) }
                if let dy = d[1] { try columnSum(r, into: o(dy), x: dout, rows: R, columns: n) }
            case .mul:
                let n = graph[node.output].count
                if let da = d[0] { try r.dispatch(.mul_accumulate, [o(da), dout, o(i[1])], [u(n)], items: n) }
                if let db = d[1] { try r.dispatch(.mul_accumulate, [o(db), dout, o(i[0])], [u(n)], items: n) }
            case .scale(let s):
                let n = graph[node.output].count
                if let dx = d[0] { try r.dispatch(.axpy, [o(dx), dout], [u(n), .float(s)], items: n) }
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
                if let dx = d[0] { try r.dispatch(.gelu, [o(dx), o(i[0]), dout], [u(n), 1], items: n) }
            case .attention(let heads, _):
                guard let dqkv = d[0] else { break }
                let s = graph[i[0]].shape, windows = keyWindows[step.node]!, rows = attentionRows[step.node]!
                try recordAttentionBackward(r, dqkv: o(dqkv), dout: dout, out: o(node.output), qkv: o(i[0]), lse: auxAt(rows),
                                            delta: auxAt(rows + ((s[0] * heads * s[1] + 15) & ~15)),
                                            keyStart: inputsAt(windows), keyEnd: inputsAt(windows + s[1]),
                                            B: s[0], T: s[1], C: s[2] / 3, heads: heads)
            case .attentionDecode:
                preconditionFailure("attention_decode has no backward")
            case .crossEntropy:
                guard let dlogits = d[0] else { break }
                let logits = graph[i[0]]
                try r.dispatch(.cross_entropy_backward, [o(dlogits), o(node.saved[0]), o(i[1]), o(i[2]), dout, auxAt(normalizers[step.node]!)],
                               [u(logits.rows), u(logits.columns)], items: logits.count)
            case .mse:
                let p = graph[i[0]]
                let which = (d[0] != nil ? 1 : 0) | (d[1] != nil ? 2 : 0)
                guard which != 0, p.columns > 0 else { break }
                try r.dispatch(.mse, [o(i[0]), o(i[1]), o(i[2]), .none, o(d[0]), o(d[1]), dout, auxAt(normalizers[step.node]!)],
                               [u(p.rows), u(p.columns), 1, u(which)], items: p.count)
            case .mean:
                let n = graph[i[0]].count
                if let dx = d[0], n > 0 { try r.dispatch(.mean_backward, [o(dx), dout], [u(n)], items: n) }
            case .sequenceSlice(let start, let length):
                guard let dx = d[0] else { break }
                let x = graph[i[0]].shape, C = x[2]
                try sequenceCopy(r, dst: o(dx).advanced(by: start * C), dstStride: x[1] * C, src: dout, srcStride: length * C,
                                 n: length * C, blocks: x[0], accumulate: true)
            case .sequenceConcat:
                let a = graph[i[0]].shape, b = graph[i[1]].shape, C = a[2], T = a[1] + b[1]
                if let da = d[0] {
                    try sequenceCopy(r, dst: o(da), dstStride: a[1] * C, src: dout, srcStride: T * C,
                                     n: a[1] * C, blocks: a[0], accumulate: true, barrier: d[1] == nil)
                }
                if let db = d[1] {
                    try sequenceCopy(r, dst: o(db), dstStride: b[1] * C, src: dout.advanced(by: a[1] * C), srcStride: T * C,
                                     n: b[1] * C, blocks: a[0], accumulate: true)
                }
            }
        }
    }

    /// Sequence slice and concat (sequence_copy.comp): each of `blocks` runs of n floats, src to dst.
    private func sequenceCopy(_ r: CommandRecording, dst: Operand, dstStride: Int, src: Operand, srcStride: Int, n: Int, blocks: Int,
                              accumulate: Bool, barrier: Bool = true) throws {
        try r.dispatch(.sequence_copy, [dst, src], [u(n), u(blocks), u(dstStride), u(srcStride), accumulate ? 1 : 0],
                       items: n * blocks, barrier: barrier)
    }

    private func matmul(_ r: CommandRecording, a: Operand, b: Operand, c: Operand, bias: Operand?, M: Int, N: Int, K: Int,
                        lda: Int, ldb: Int, ldc: Int, transA: Bool, transB: Bool, beta: Float, barrier: Bool = true) throws {
        guard M > 0, N > 0 else { return }
        if usesLargeMatmul(M: M, N: N) {
            return try matmulLarge(r, a: a, b: b, c: c, bias: bias, M: M, N: N, K: K, lda: lda, ldb: ldb, ldc: ldc,
                                   transA: transA, transB: transB, beta: beta, barrier: barrier)
        }
        let kernel: Kernel = device.matmul == .tiled ? .matmul : .matmul_direct
        let tile = kernel == .matmul ? Int(kernel.defaultConstants(device.info)[0]) * 4 : 4
        let tiles = ((M + tile - 1) / tile) * ((N + tile - 1) / tile)
        try r.dispatch(kernel, [a, b, c, bias ?? .none], [u(M), u(N), u(K), u(lda), u(ldb), u(ldc), transA ? 1 : 0, transB ? 1 : 0,
                                                         bias == nil ? 0 : 1, 1.0, .float(beta)],
                       groups: kernel == .matmul ? tiles : kernel.groups(tiles, device.info), barrier: barrier)
    }

    /// out = Σ rowLoss[0..<rows] / (divisor · max(Σ weights, 1)), the normalizer kept for the backward.
    private func sum(_ r: CommandRecording, into out: Operand, rows: Int, weights: Operand, normalizer: Int, divisor: Float,
                     byRows: Bool = false) throws {
        try sum(r, into: out, x: auxAt(rowLossOffset), n: rows, weights: (weights, rows, auxAt(normalizer)), divisor: divisor, byRows: byRows)
    }

    /// Sets every element of arena tensor `id` to `value` (0 only, for a bfloat16 tensor: a fill writes 4-byte words).
    private func fill(_ r: CommandRecording, _ id: TensorID, value: Float) throws {
        precondition(value == 0 || !plan.halved.contains(id), "a bfloat16 tensor is only ever filled with 0")
        let words = plan.words(id, of: graph)
        let (buffer, _, at) = try arena.locate(offset: plan.offsets[id]!, count: words)
        try r.fill(buffer, offset: at, count: words, value: value.bitPattern)
    }
}
