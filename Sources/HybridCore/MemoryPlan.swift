/// Where every activation and activation gradient of a graph lives in one arena.
///
/// The run is a timeline: forward node i at time i, then backward step k at time n + k.
/// Each arena tensor lives from the time it is first written to the time it is last read;
/// tensors whose lifetimes do not overlap share memory. Placement is greedy first-fit,
/// largest first (the offline strategy of TFLite's and ggml's allocators). With a `chunk`, no
/// tensor crosses a multiple of it: a GPU backend binds the arena as buffers of that size.
///
/// An op whose backward reads its own output (attention: rowsum(dO ∘ O)) keeps it alive to
/// its backward step.
///
/// With `recompute` (activation checkpointing), the outputs of the nodes it names are not kept
/// from the forward to the backward: their forward copy lives only until its last forward
/// reader, and the backward reruns the node just before its first backward step that reads the
/// output (or the first rerun that does), into a second place (`backwardOffsets`) that lives
/// until the last. A rerun node's inputs that are not rerun themselves are kept alive to that step.
///
/// `halved` tensors hold 2-byte elements (bfloat16, a backend's mixed precision): each takes
/// half as many 4-byte words, rounded up; offsets and the size stay in 4-byte words.
public struct MemoryPlan: Sendable {
    /// Which forward outputs the backward recomputes instead of keeping.
    public enum Recompute: Sendable {
        /// None: every output the backward reads is kept.
        case none
        /// GELU and layer-norm outputs: one pass over data the backward keeps anyway buys the
        /// largest tensor of a block (the MLP's [B·T, 4d] GELU output) off the peak.
        case cheap
        /// Also the products that read a recomputed output (a block's QKV and MLP-input
        /// linears): a block keeps only its residual stream and attention output, for one more
        /// [B·T, d] × [d, 7d] product a block in the backward.
        case products
    }


    /// Arena offset (in 4-byte elements) per tensor id; nil for non-arena tensors.
    public private(set) var offsets: [Int?]
    /// Arena size in elements.
    public private(set) var size: Int
    /// Activation gradients to zero before backward step k (their first writer).
    public private(set) var zeroBeforeStep: [[TensorID]]
    /// Nodes to rerun before backward step k, into their outputs' backward places.
    public private(set) var recomputeBeforeStep: [[Int]]
    /// Where each recomputed output lives during the backward (arena offset in elements).
    public private(set) var backwardOffsets: [TensorID: Int]
    /// The tensors stored in 2-byte elements.
    public let halved: Set<TensorID>

    /// Offsets are rounded to 16 elements (64 bytes) for aligned SIMD loads.
    static let alignment = 16

    public init(graph: Graph, chunk: Int = .max, recompute: Recompute = .none, halved: Set<TensorID> = []) {
        self.halved = halved
        let tensors = graph.tensors
        let n = graph.nodes.count
        let end = n + graph.backwardSteps.count
        // Recomputed outputs, never a graph output: of GELU and layer norm nodes (with `cheap`,
        // only those whose input is kept), and with `products` of linear nodes whose input is
        // recomputed. Their backward copies get ids past the tensors'.
        var rerun: [Int] = [], backwardCopy: [TensorID: Int] = [:]
        if recompute != .none {
            for (i, node) in graph.nodes.enumerated() where !graph.outputs.contains(node.output) {
                let inputRerun = node.inputs.contains { backwardCopy[$0] != nil }
                switch node.op {
                case .gelu, .layerNorm: guard recompute == .products || !inputRerun else { continue }
                case .linear: guard recompute == .products && backwardCopy[node.inputs[0]] != nil else { continue }
                default: continue
                }
                backwardCopy[node.output] = tensors.count + rerun.count
                rerun.append(i)
            }
        }
        let copies = rerun.map { graph.nodes[$0].output }
        var first = [Int](repeating: Int.max, count: tensors.count + copies.count)
        var last = [Int](repeating: -1, count: tensors.count + copies.count)
        func touch(_ id: TensorID, _ time: Int) {
            // In the backward, a recomputed output is read from its backward copy.
            let id = time >= n ? backwardCopy[id] ?? id : id
            first[id] = min(first[id], time)
            last[id] = max(last[id], time)
        }
        for (i, node) in graph.nodes.enumerated() {
            node.inputs.forEach { touch($0, i) }
            touch(node.output, i)
            node.saved.forEach { touch($0, i) }
        }
        var zero = [[TensorID]](repeating: [], count: graph.backwardSteps.count)
        for (k, step) in graph.backwardSteps.enumerated() {
            let time = n + k
            let node = graph.nodes[step.node]
            for (j, input) in node.inputs.enumerated() where node.op.backwardReadsInput(j) { touch(input, time) }
            if node.op.backwardReadsOutput { touch(node.output, time) }
            node.saved.forEach { touch($0, time) }
            touch(step.outputGradient, time)
            for case let g? in step.inputGradients {
                if tensors[g].storage == .activationGradient && first[g] == Int.max { zero[k].append(g) }
                touch(g, time)
            }
        }
        // The loss gradient is seeded before the backward starts; outputs are read after it.
        if let loss = graph.loss, let g = tensors[loss].gradient { touch(g, n) }
        for id in graph.outputs { touch(id, end) }
        // A backward copy is written just before its first reader, from inputs (and saved
        // tensors, which the rerun rewrites) alive then. Last node first: a rerun reads its
        // rerun inputs' copies, which must exist by then; within a step they run in graph order.
        var recomputeBeforeStep = [[Int]](repeating: [], count: graph.backwardSteps.count)
        for (k, index) in rerun.enumerated().reversed() where last[tensors.count + k] >= 0 {
            let time = first[tensors.count + k], node = graph.nodes[index]
            recomputeBeforeStep[time - n].insert(index, at: 0)
            (node.inputs + node.saved).forEach { touch($0, time) }
        }
        func count(_ id: Int) -> Int {
            let tensor = id < tensors.count ? id : copies[id - tensors.count]
            return Self.words(tensors[tensor].count, halved: halved.contains(tensor))
        }

        var placed: [(offset: Int, size: Int, first: Int, last: Int)] = []
        var offsets = [Int?](repeating: nil, count: first.count)
        var size = 0
        let arena = first.indices.filter {
            ($0 >= tensors.count || tensors[$0].storage == .activation || tensors[$0].storage == .activationGradient) && last[$0] >= 0
        }
        let order = arena.sorted { (count($0), -$0) > (count($1), -$1) }
        for id in order {
            let need = (count(id) + Self.alignment - 1) / Self.alignment * Self.alignment
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
        self.offsets = Array(offsets[..<tensors.count])
        self.size = size
        self.zeroBeforeStep = zero
        self.recomputeBeforeStep = recomputeBeforeStep
        backwardOffsets = [:]
        for (k, id) in copies.enumerated() { if let offset = offsets[tensors.count + k] { backwardOffsets[id] = offset } }
    }

    /// The 4-byte words tensor `id` of `graph` (the planned graph) takes in the arena.
    public func words(_ id: TensorID, of graph: Graph) -> Int { Self.words(graph[id].count, halved: halved.contains(id)) }

    static func words(_ count: Int, halved: Bool) -> Int { halved ? (count + 1) / 2 : count }
}
