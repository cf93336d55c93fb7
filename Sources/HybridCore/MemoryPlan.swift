/// Where every activation and activation gradient of a graph lives in one arena.
///
/// The run is a timeline: forward node i at time i, then backward step k at time n + k.
/// Each arena tensor lives from the time it is first written to the time it is last read;
/// tensors whose lifetimes do not overlap share memory. Placement is greedy first-fit,
/// largest first (the offline strategy of TFLite's and ggml's allocators). With a `chunk`, no
/// tensor crosses a multiple of it: a GPU backend binds the arena as buffers of that size.
///
/// With `fusedAttention` (a backend whose attention recomputes the probabilities, as
/// FlashAttention does), an attention node's saved probs [B,H,T,T] get no space, and its output
/// lives until its backward step instead (the backward reads O for rowsum(dO ∘ O)).
public struct MemoryPlan: Sendable {
    /// Arena offset (in 4-byte elements) per tensor id; nil for non-arena tensors.
    public private(set) var offsets: [Int?]
    /// Arena size in elements.
    public private(set) var size: Int
    /// Activation gradients to zero before backward step k (their first writer).
    public private(set) var zeroBeforeStep: [[TensorID]]

    /// Offsets are rounded to 16 elements (64 bytes) for aligned SIMD loads.
    static let alignment = 16

    public init(graph: Graph, chunk: Int = .max, fusedAttention: Bool = false) {
        let tensors = graph.tensors
        let n = graph.nodes.count
        let end = n + graph.backwardSteps.count
        var first = [Int](repeating: Int.max, count: tensors.count)
        var last = [Int](repeating: -1, count: tensors.count)
        func touch(_ id: TensorID, _ time: Int) {
            first[id] = min(first[id], time)
            last[id] = max(last[id], time)
        }
        func fused(_ node: Node) -> Bool {
            if case .attention = node.op { return fusedAttention }
            return false
        }
        for (i, node) in graph.nodes.enumerated() {
            node.inputs.forEach { touch($0, i) }
            touch(node.output, i)
            if !fused(node) { node.saved.forEach { touch($0, i) } }
        }
        var zero = [[TensorID]](repeating: [], count: graph.backwardSteps.count)
        for (k, step) in graph.backwardSteps.enumerated() {
            let time = n + k
            let node = graph.nodes[step.node]
            for (j, input) in node.inputs.enumerated() where node.op.backwardReadsInput(j) { touch(input, time) }
            if fused(node) { touch(node.output, time) } else { node.saved.forEach { touch($0, time) } }
            touch(step.outputGradient, time)
            for case let g? in step.inputGradients {
                if tensors[g].storage == .activationGradient && first[g] == Int.max { zero[k].append(g) }
                touch(g, time)
            }
        }
        // The loss gradient is seeded before the backward starts; outputs are read after it.
        if let loss = graph.loss, let g = tensors[loss].gradient { touch(g, n) }
        for id in graph.outputs { touch(id, end) }

        var placed: [(offset: Int, size: Int, first: Int, last: Int)] = []
        var offsets = [Int?](repeating: nil, count: tensors.count)
        var size = 0
        let arena = tensors.indices.filter {
            (tensors[$0].storage == .activation || tensors[$0].storage == .activationGradient) && last[$0] >= 0
        }
        let order = arena.sorted { (tensors[$0].count, -$0) > (tensors[$1].count, -$1) }
        for id in order {
            let need = (tensors[id].count + Self.alignment - 1) / Self.alignment * Self.alignment
            let overlapping = placed.filter { $0.first <= last[id] && first[id] <= $0.last }.sorted { $0.offset < $1.offset }
            // The next chunk boundary, where the tensor would cross one (one larger than a chunk
            // crosses anyway, and the backend refuses it by name).
            func inOneChunk(_ offset: Int) -> Int {
                need > 0 && need <= chunk && offset / chunk != (offset + need - 1) / chunk ? (offset / chunk + 1) * chunk : offset
            }
            var offset = 0
            for block in overlapping {
                offset = inOneChunk(offset)
                if offset + need <= block.offset { break }
                offset = max(offset, block.offset + block.size)
            }
            offset = inOneChunk(offset)
            placed.append((offset, need, first[id], last[id]))
            offsets[id] = offset
            size = max(size, offset + need)
        }
        self.offsets = offsets
        self.size = size
        self.zeroBeforeStep = zero
    }
}
