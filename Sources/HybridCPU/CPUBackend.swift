import HybridCore

/// The reference backend: OpenBLAS for matrix products, the kernels in `Kernels/` for the
/// rest, every core through one pool of threads (`DispatchQueue.concurrentPerform`; OpenBLAS
/// itself runs single-threaded, each product split in `Parallel.sgemm`).
public final class CPUBackend: Backend {
    /// What the backward recomputes instead of keeping (`training.recompute`).
    public let recompute: MemoryPlan.Recompute

    public init(recompute: MemoryPlan.Recompute = .cheap) {
        self.recompute = recompute
        _ = OpenBLASCore.choice
        _ = Parallel.singleThreadedBLAS
    }

    public var deviceDescription: String {
        let threads = Parallel.workers
        let core = OpenBLASCore.choice
        let kernels = core.upgraded.map { "OpenBLAS \($0) kernels, not the \(core.detected) it detected" } ?? "OpenBLAS \(core.detected)"
        return "cpu (\(kernels), \(threads) thread\(threads == 1 ? "" : "s"))"
    }

    public func compile(_ graph: Graph) throws -> Executable {
        try compile(oneAtATime: [graph])[0]
    }

    /// One workspace for all: each graph's activations are placed by its own plan, in one arena
    /// as large as the largest plan.
    public func compile(oneAtATime graphs: [Graph]) throws -> [Executable] {
        let plans = graphs.map { MemoryPlan(graph: $0, recompute: recompute) }
        let workspace = Workspace(arenaCount: plans.map(\.size).max() ?? 0,
                                  scratchCount: graphs.map(CPUExecutable.scratchCount).max() ?? 0)
        return try zip(graphs, plans).map { try CPUExecutable(graph: $0, plan: $1, workspace: workspace) }
    }

    public func parameterMemory() -> ParameterMemory { HostParameterMemory() }

    public func adamwStep(_ parameters: ParameterStore, settings s: AdamWSettings, step: Int) {
        guard let p = parameters.values, let g = parameters.gradients, let moments = parameters.moments else { return }
        for info in parameters.parameters {
            let o = info.offset, c = s.scalars(step: step, decays: info.decay)
            switch parameters.momentPrecision {
            case .fp32:
                AdamW.update(params: p + o, grads: g + o, m: moments + o, v: moments + parameters.count + o, n: info.count,
                             settings: s, scalars: c)
            case .bfloat16:
                AdamW.update(params: p + o, grads: g + o, moments: parameters.momentPairs(of: info), n: info.count, first: o, step: step,
                             settings: s, scalars: c)
            }
        }
    }

    public func gradientNorm(_ parameters: ParameterStore) -> Double {
        guard let g = parameters.gradients else { return 0 }
        return GradNorm.sumOfSquares(x: g, n: parameters.count).squareRoot()
    }

    public func scaleGradients(_ parameters: ParameterStore, by factor: Float) {
        guard let g = parameters.gradients else { return }
        GradNorm.scale(x: g, n: parameters.count, s: factor)
    }
}

/// Memory that executables run one at a time share: the activation arena and the attention
/// scratch, each sized for the largest of them.
final class Workspace {
    let arena: UnsafeMutablePointer<Float>
    let scratch: UnsafeMutablePointer<Float>

    init(arenaCount: Int, scratchCount: Int) {
        arena = .allocate(capacity: max(arenaCount, 1))
        arena.initialize(repeating: 0, count: max(arenaCount, 1))
        scratch = .allocate(capacity: max(scratchCount, 1))
        scratch.initialize(repeating: 0, count: max(scratchCount, 1))
    }

    deinit {
        arena.deallocate()
        scratch.deallocate()
    }
}

/// A graph bound to memory: every tensor's pointer resolved once, so a run is a loop over
/// nodes that calls one kernel each.
final class CPUExecutable: Executable {
    let graph: Graph
    let plan: MemoryPlan
    private let workspace: Workspace
    /// Float view of each tensor's storage (nil for tensors never placed: unused ones).
    private var pointers: [UnsafeMutablePointer<Float>?]
    /// Per attention node: the key range of every row.
    private var keyRanges: [Int: (start: UnsafeMutablePointer<Int32>, end: UnsafeMutablePointer<Int32>)] = [:]
    /// Outputs the backward recomputes: where each lives in the forward and in the backward.
    private var recomputed: [(id: TensorID, forward: UnsafeMutablePointer<Float>, backward: UnsafeMutablePointer<Float>)] = []
    /// Per attention node: lse[B,H,T], from its forward to its backward.
    private var logSumExps: [Int: UnsafeMutablePointer<Float>] = [:]
    private var inputPointers: [TensorID: UnsafeMutableRawPointer] = [:]

    /// The attention scratch a graph needs: its attention nodes run one after another.
    static func scratchCount(_ graph: Graph) -> Int {
        graph.nodes.map { node in
            guard case .attention = node.op else { return 0 }
            return Attention.scratchCount(T: graph[node.inputs[0]].shape[1])
        }.max() ?? 0
    }

    /// `plan` places the activations in `workspace.arena` (a plan with fused attention: no
    /// probabilities are kept; with recomputed outputs or without).
    init(graph: Graph, plan: MemoryPlan, workspace: Workspace) throws {
        guard let values = graph.parameters.values, let gradients = graph.parameters.gradients else {
            throw GraphError("parameters must be materialized before a graph is compiled")
        }
        self.graph = graph
        self.plan = plan
        self.workspace = workspace
        let arena = workspace.arena
        pointers = Array(repeating: nil, count: graph.tensors.count)
        for (id, t) in graph.tensors.enumerated() {
            switch t.storage {
            case .parameter(let offset): pointers[id] = values + offset
            case .parameterGradient(let offset): pointers[id] = gradients + offset
            case .activation, .activationGradient: pointers[id] = plan.offsets[id].map { arena + $0 }
            case .input, .state:
                let raw = UnsafeMutableRawPointer.allocate(byteCount: max(t.count, 1) * 4, alignment: 64)
                raw.initializeMemory(as: Int32.self, repeating: 0, count: max(t.count, 1))
                // Float inputs are read through this pointer; int32 inputs through `ids(_:)`.
                pointers[id] = t.dtype == .float32 ? raw.assumingMemoryBound(to: Float.self) : nil
                inputPointers[id] = raw
            }
        }
        recomputed = plan.backwardOffsets.sorted { $0.key < $1.key }.map { ($0.key, pointers[$0.key]!, arena + $0.value) }
        for (index, node) in graph.nodes.enumerated() {
            guard case .attention(let heads, let mask) = node.op else { continue }
            let s = graph[node.inputs[0]].shape, T = s[1]
            logSumExps[index] = .allocate(capacity: s[0] * heads * T)
            let start = UnsafeMutablePointer<Int32>.allocate(capacity: T)
            let end = UnsafeMutablePointer<Int32>.allocate(capacity: T)
            for t in 0..<T {
                let r = mask.keyRange(row: t, length: T)
                start[t] = Int32(r.lowerBound)
                end[t] = Int32(r.upperBound)
            }
            keyRanges[index] = (start, end)
        }
    }

    deinit {
        logSumExps.values.forEach { $0.deallocate() }
        inputPointers.values.forEach { $0.deallocate() }
        keyRanges.values.forEach { $0.start.deallocate(); $0.end.deallocate() }
    }

    func int32Input(_ id: TensorID) -> UnsafeMutableBufferPointer<Int32> {
        precondition(graph[id].storage == .input && graph[id].dtype == .int32, "\(graph[id].name) is not an int32 input")
        return UnsafeMutableBufferPointer(start: inputPointers[id]!.assumingMemoryBound(to: Int32.self), count: graph[id].count)
    }

    func floatInput(_ id: TensorID) -> UnsafeMutableBufferPointer<Float> {
        precondition(graph[id].storage == .input && graph[id].dtype == .float32, "\(graph[id].name) is not a float input")
        return UnsafeMutableBufferPointer(start: pointers[id]!, count: graph[id].count)
    }

    func read(_ id: TensorID) -> [Float] {
        Array(UnsafeBufferPointer(start: pointers[id]!, count: graph[id].count))
    }

    func read(_ id: TensorID, offset: Int, count: Int, into: UnsafeMutablePointer<Float>) {
        precondition(offset >= 0 && offset + count <= graph[id].count, "read past the end of \(graph[id].name)")
        into.update(from: pointers[id]! + offset, count: count)
    }

    private func f(_ id: TensorID) -> UnsafeMutablePointer<Float> { pointers[id]! }
    private func ids(_ id: TensorID) -> UnsafeMutablePointer<Int32> { inputPointers[id]!.assumingMemoryBound(to: Int32.self) }
    private func grad(_ id: TensorID?) -> UnsafeMutablePointer<Float>? { id.map { pointers[$0]! } }

    var profile: OpProfile?

    /// Runs `body`, timed under `label` when profiling (the label is built only then).
    @inline(__always) private func timed(_ label: @autoclosure () -> String, _ body: () -> Void) {
        guard let profile else { return body() }
        let t0 = ContinuousClock.now
        body()
        profile.record(label(), ContinuousClock.now - t0)
    }

    func forward() {
        for index in graph.nodes.indices {
            timed(graph.nodes[index].op.name) { runForward(index) }
        }
    }

    func backward(seed: Float) {
        guard let loss = graph.loss, let lossGrad = graph[loss].gradient else {
            preconditionFailure("backward on a graph without a differentiated loss")
        }
        f(lossGrad)[0] = seed
        for r in recomputed { pointers[r.id] = r.backward }
        defer { for r in recomputed { pointers[r.id] = r.forward } }
        for k in graph.backwardSteps.indices {
            for index in plan.recomputeBeforeStep[k] {
                timed(graph.nodes[index].op.name + " recompute") { runForward(index) }
            }
            timed(graph.nodes[graph.backwardSteps[k].node].op.name + " backward") { runBackward(k) }
        }
    }

    private func runForward(_ index: Int) {
        let node = graph.nodes[index]
        let i = node.inputs
        let out = f(node.output)
        switch node.op {
        case .embedding:
            let table = graph[i[1]]
            Embedding.forward(out: out, ids: ids(i[0]), table: f(i[1]), N: graph[i[0]].count, C: table.shape[1])
        case .linear(let hasBias):
            let x = graph[i[0]], w = graph[i[1]]
            Linear.forward(out: out, x: f(i[0]), weight: f(i[1]), bias: hasBias ? f(i[2]) : nil,
                           N: x.rows, K: w.shape[1], M: w.shape[0])
        case .add:
            Add.forward(out: out, a: f(i[0]), b: f(i[1]), n: graph[node.output].count)
        case .addBroadcast:
            let n = graph[i[1]].count
            AddBroadcast.forward(out: out, x: f(i[0]), y: f(i[1]), R: graph[i[0]].count / n, n: n)
        case .mul:
            Mul.forward(out: out, a: f(i[0]), b: f(i[1]), n: graph[node.output].count)
        case .scale(let s):
            Scale.forward(out: out, x: f(i[0]), s: s, n: graph[node.output].count)
        case .layerNorm(let eps):
            let x = graph[i[0]]
            LayerNorm.forward(out: out, mean: f(node.saved[0]), rstd: f(node.saved[1]), x: f(i[0]),
                              weight: f(i[1]), bias: f(i[2]), N: x.rows, C: x.columns, eps: eps)
        case .gelu:
            GELU.forward(out: out, x: f(i[0]), n: graph[node.output].count)
        case .attentionDecode(let heads):
            let cache = graph[i[1]].shape
            AttentionDecode.forward(out: out, qkv: f(i[0]), keys: f(i[1]), values: f(i[2]), position: Int(ids(i[3])[0]),
                                    C: cache[1], H: heads, maxLength: cache[0])
        case .attention(let heads, _):
            let s = graph[i[0]].shape
            let mask = keyRanges[index]!
            Attention.forward(out: out, lse: logSumExps[index]!, qkv: f(i[0]), keyStart: mask.start, keyEnd: mask.end,
                              scratch: workspace.scratch, B: s[0], T: s[1], C: s[2] / 3, H: heads)
        case .crossEntropy(let normalizer):
            let logits = graph[i[0]]
            CrossEntropy.forward(loss: out, probs: f(node.saved[0]), logits: f(i[0]), targets: ids(i[1]),
                                 weights: f(i[2]), normalizer: normalizer, N: logits.rows, V: logits.columns)
        case .mse:
            let prediction = graph[i[0]]
            MSE.forward(loss: out, prediction: f(i[0]), target: f(i[1]), weights: f(i[2]),
                        N: prediction.rows, F: prediction.columns)
        case .mean:
            Mean.forward(out: out, x: f(i[0]), n: graph[i[0]].count)
        case .sequenceSlice(let start, let length):
            let s = graph[i[0]].shape
            SequenceCopy.sliceForward(out: out, x: f(i[0]), B: s[0], T: s[1], C: s[2], start: start, length: length)
        case .sequenceConcat:
            let a = graph[i[0]].shape, b = graph[i[1]].shape
            SequenceCopy.concatForward(out: out, a: f(i[0]), b: f(i[1]), B: a[0], Ta: a[1], Tb: b[1], C: a[2])
        }
    }

    private func runBackward(_ k: Int) {
        let step = graph.backwardSteps[k]
        for g in plan.zeroBeforeStep[k] { f(g).update(repeating: 0, count: graph[g].count) }
        let node = graph.nodes[step.node]
        let i = node.inputs
        let d = step.inputGradients
        let dout = f(step.outputGradient)
        switch node.op {
        case .embedding:
            if let dtable = grad(d[1]) {
                Embedding.backward(dtable: dtable, dout: dout, ids: ids(i[0]), N: graph[i[0]].count, C: graph[i[1]].shape[1])
            }
        case .linear(let hasBias):
            let x = graph[i[0]], w = graph[i[1]]
            Linear.backward(dx: grad(d[0]), dweight: grad(d[1]), dbias: hasBias ? grad(d[2]) : nil, dout: dout,
                            x: f(i[0]), weight: f(i[1]), N: x.rows, K: w.shape[1], M: w.shape[0])
        case .add:
            Add.backward(da: grad(d[0]), db: grad(d[1]), dout: dout, n: graph[node.output].count)
        case .addBroadcast:
            let n = graph[i[1]].count
            AddBroadcast.backward(dx: grad(d[0]), dy: grad(d[1]), dout: dout, R: graph[i[0]].count / n, n: n)
        case .mul:
            Mul.backward(da: grad(d[0]), db: grad(d[1]), dout: dout, a: f(i[0]), b: f(i[1]), n: graph[node.output].count)
        case .scale(let s):
            if let dx = grad(d[0]) { Scale.backward(dx: dx, dout: dout, s: s, n: graph[node.output].count) }
        case .layerNorm:
            let x = graph[i[0]]
            LayerNorm.backward(dx: grad(d[0]), dweight: grad(d[1]), dbias: grad(d[2]), dout: dout, x: f(i[0]),
                               weight: f(i[1]), mean: f(node.saved[0]), rstd: f(node.saved[1]), N: x.rows, C: x.columns)
        case .gelu:
            if let dx = grad(d[0]) { GELU.backward(dx: dx, x: f(i[0]), dout: dout, n: graph[node.output].count) }
        case .attentionDecode:
            preconditionFailure("attention_decode has no backward")
        case .attention(let heads, _):
            guard let dqkv = grad(d[0]) else { break }
            let s = graph[i[0]].shape
            let mask = keyRanges[step.node]!
            Attention.backward(dqkv: dqkv, dout: dout, out: f(node.output), qkv: f(i[0]), lse: logSumExps[step.node]!,
                               keyStart: mask.start, keyEnd: mask.end, scratch: workspace.scratch,
                               B: s[0], T: s[1], C: s[2] / 3, H: heads)
        case .crossEntropy(let normalizer):
            if let dlogits = grad(d[0]) {
                let logits = graph[i[0]]
                CrossEntropy.backward(dlogits: dlogits, probs: f(node.saved[0]), targets: ids(i[1]), weights: f(i[2]),
                                      normalizer: normalizer, dloss: dout[0], N: logits.rows, V: logits.columns)
            }
        case .mse:
            let prediction = graph[i[0]]
            MSE.backward(dprediction: grad(d[0]), dtarget: grad(d[1]), prediction: f(i[0]), target: f(i[1]),
                         weights: f(i[2]), dloss: dout[0], N: prediction.rows, F: prediction.columns)
        case .mean:
            if let dx = grad(d[0]) { Mean.backward(dx: dx, dout: dout[0], n: graph[i[0]].count) }
        case .sequenceSlice(let start, let length):
            let s = graph[i[0]].shape
            if let dx = grad(d[0]) { SequenceCopy.sliceBackward(dx: dx, dout: dout, B: s[0], T: s[1], C: s[2], start: start, length: length) }
        case .sequenceConcat:
            let a = graph[i[0]].shape, b = graph[i[1]].shape
            SequenceCopy.concatBackward(da: grad(d[0]), db: grad(d[1]), dout: dout, B: a[0], Ta: a[1], Tb: b[1], C: a[2])
        }
    }
}
