/// A computation graph, built once per (objective, batch shape, mode) and run many times.
///
/// Builders append nodes through the typed op methods below, which check shapes and throw
/// `GraphError` with the op and both shapes named. `differentiate(loss:)` then derives the
/// backward steps, and `MemoryPlan` places every activation and gradient in one arena.
public final class Graph {
    public private(set) var tensors: [TensorInfo] = []
    public private(set) var nodes: [Node] = []
    public private(set) var backwardSteps: [BackwardStep] = []
    /// Tensors read after a run (the loss, logits): kept alive to the end of the step.
    public private(set) var outputs: [TensorID] = []
    public private(set) var loss: TensorID?
    public let parameters: ParameterStore

    public init(parameters: ParameterStore) {
        self.parameters = parameters
    }

    public subscript(_ id: TensorID) -> TensorInfo { tensors[id] }

    private func add(_ info: TensorInfo) -> TensorID {
        tensors.append(info)
        return tensors.count - 1
    }

    private func describe(_ id: TensorID) -> String {
        "\(tensors[id].name) \(tensors[id].shape)"
    }

    private func check(_ id: TensorID) throws {
        guard id >= 0, id < tensors.count else { throw GraphError("tensor handle \(id) does not exist in this graph") }
    }

    // MARK: Leaves

    public func input(_ name: String, shape: [Int], dtype: DType) -> TensorID {
        add(TensorInfo(name: name, shape: shape, dtype: dtype, storage: .input, requiresGrad: false))
    }

    /// A tensor the executable keeps from run to run (zero at first), which ops write.
    public func state(_ name: String, shape: [Int]) -> TensorID {
        add(TensorInfo(name: name, shape: shape, dtype: .float32, storage: .state, requiresGrad: false))
    }

    public func parameter(_ name: String, shape: [Int], initializer: ParameterInit, decay: Bool) throws -> TensorID {
        let info = try parameters.declare(name, shape: shape, initializer: initializer, decay: decay)
        if let existing = tensors.firstIndex(where: { $0.name == name && $0.storage == .parameter(offset: info.offset) }) {
            return existing
        }
        return add(TensorInfo(name: name, shape: shape, dtype: .float32, storage: .parameter(offset: info.offset), requiresGrad: true))
    }

    /// The first `rows` rows of a parameter matrix, as a parameter of its own (a view: same
    /// storage, so its gradient lands in the right rows). Used for learned positions.
    public func parameterRows(_ table: TensorID, _ rows: Int) throws -> TensorID {
        try check(table)
        let t = tensors[table]
        guard case .parameter(let offset) = t.storage, t.shape.count == 2, rows > 0, rows <= t.shape[0] else {
            throw GraphError("parameterRows needs a 2-D parameter with at least \(rows) rows, got \(describe(table))")
        }
        let name = "\(t.name)[0:\(rows)]"
        if let existing = tensors.firstIndex(where: { $0.name == name }) { return existing }
        return add(TensorInfo(name: name, shape: [rows, t.shape[1]], dtype: .float32, storage: .parameter(offset: offset), requiresGrad: true))
    }

    // MARK: Ops

    private func node(_ op: Op, _ inputs: [TensorID], shape: [Int], saved: [(String, [Int])] = []) -> TensorID {
        let requiresGrad = inputs.contains { tensors[$0].requiresGrad }
        let out = add(TensorInfo(name: "\(op.name)#\(nodes.count)", shape: shape, dtype: .float32, storage: .activation, requiresGrad: requiresGrad))
        let savedIDs = saved.map { add(TensorInfo(name: "\(op.name)#\(nodes.count).\($0.0)", shape: $0.1, dtype: .float32, storage: .activation, requiresGrad: false)) }
        nodes.append(Node(op: op, inputs: inputs, output: out, saved: savedIDs))
        return out
    }

    private func requireFloat(_ ids: TensorID..., op: String) throws {
        for id in ids {
            try check(id)
            guard tensors[id].dtype == .float32 else { throw GraphError("\(op): \(describe(id)) must be float32") }
        }
    }

    public func embedding(ids: TensorID, table: TensorID) throws -> TensorID {
        try check(ids)
        try requireFloat(table, op: "embedding")
        guard tensors[ids].dtype == .int32 else { throw GraphError("embedding: ids \(describe(ids)) must be int32") }
        guard tensors[table].shape.count == 2 else { throw GraphError("embedding: table \(describe(table)) must be [V, C]") }
        return node(.embedding, [ids, table], shape: tensors[ids].shape + [tensors[table].shape[1]])
    }

    public func linear(_ x: TensorID, weight: TensorID, bias: TensorID?) throws -> TensorID {
        try requireFloat(x, weight, op: "linear")
        let w = tensors[weight].shape
        guard w.count == 2, tensors[x].columns == w[1] else {
            throw GraphError("linear: input \(describe(x)) does not match weight \(describe(weight)) ([out, in])")
        }
        if let bias {
            try requireFloat(bias, op: "linear")
            guard tensors[bias].shape == [w[0]] else { throw GraphError("linear: bias \(describe(bias)) must be [\(w[0])]") }
        }
        return node(.linear(hasBias: bias != nil), [x, weight] + (bias.map { [$0] } ?? []),
                    shape: Array(tensors[x].shape.dropLast()) + [w[0]])
    }

    public func add(_ a: TensorID, _ b: TensorID) throws -> TensorID {
        try requireFloat(a, b, op: "add")
        if tensors[a].shape == tensors[b].shape {
            return node(.add, [a, b], shape: tensors[a].shape)
        }
        // b repeated over a's leading dimensions: a [R..., tail...] + b [tail...].
        let (sa, sb) = (tensors[a].shape, tensors[b].shape)
        guard sb.count < sa.count, Array(sa.suffix(sb.count)) == sb else {
            throw GraphError("add: \(describe(b)) cannot be broadcast to \(describe(a)); shapes must be equal or the second must match the first's trailing dimensions")
        }
        return node(.addBroadcast, [a, b], shape: sa)
    }

    public func mul(_ a: TensorID, _ b: TensorID) throws -> TensorID {
        try requireFloat(a, b, op: "mul")
        guard tensors[a].shape == tensors[b].shape else { throw GraphError("mul: \(describe(a)) and \(describe(b)) differ in shape") }
        return node(.mul, [a, b], shape: tensors[a].shape)
    }

    public func scale(_ x: TensorID, by s: Float) throws -> TensorID {
        try requireFloat(x, op: "scale")
        return node(.scale(s), [x], shape: tensors[x].shape)
    }

    public func layerNorm(_ x: TensorID, weight: TensorID, bias: TensorID, eps: Float = 1e-5) throws -> TensorID {
        try requireFloat(x, weight, bias, op: "layer_norm")
        let c = tensors[x].columns
        guard tensors[weight].shape == [c], tensors[bias].shape == [c] else {
            throw GraphError("layer_norm: weight \(describe(weight)) and bias \(describe(bias)) must be [\(c)] for \(describe(x))")
        }
        let n = tensors[x].rows
        return node(.layerNorm(eps: eps), [x, weight, bias], shape: tensors[x].shape, saved: [("mean", [n]), ("rstd", [n])])
    }

    public func gelu(_ x: TensorID) throws -> TensorID {
        try requireFloat(x, op: "gelu")
        return node(.gelu, [x], shape: tensors[x].shape)
    }

    /// qkv [B, T, 3C] → [B, T, C].
    public func attention(_ qkv: TensorID, heads: Int, mask: AttentionMask) throws -> TensorID {
        try requireFloat(qkv, op: "attention")
        let s = tensors[qkv].shape
        guard s.count == 3, s[2] % 3 == 0, heads > 0, (s[2] / 3) % heads == 0 else {
            throw GraphError("attention: qkv \(describe(qkv)) must be [B, T, 3C] with C divisible by \(heads) heads")
        }
        let (b, t, c) = (s[0], s[1], s[2] / 3)
        return node(.attention(heads: heads, mask: mask), [qkv], shape: [b, t, c])
    }

    /// qkv [1, 1, 3C] of the token at `position` (int32 [1]); keys and values [maxLength, C] state.
    public func attentionDecode(_ qkv: TensorID, keys: TensorID, values: TensorID, position: TensorID, heads: Int) throws -> TensorID {
        try requireFloat(qkv, op: "attention_decode")
        try check(keys); try check(values); try check(position)
        let s = tensors[qkv].shape
        guard s.count == 3, s[0] == 1, s[1] == 1, s[2] % 3 == 0, heads > 0, (s[2] / 3) % heads == 0 else {
            throw GraphError("attention_decode: qkv \(describe(qkv)) must be [1, 1, 3C] with C divisible by \(heads) heads")
        }
        let c = s[2] / 3
        guard tensors[keys].storage == .state, tensors[values].storage == .state, tensors[keys].shape.count == 2,
              tensors[keys].shape == tensors[values].shape, tensors[keys].shape[1] == c,
              tensors[position].dtype == .int32, tensors[position].count == 1 else {
            throw GraphError("attention_decode: keys \(describe(keys)) and values \(describe(values)) must be [maxLength, \(c)] state, position int32 [1]")
        }
        return node(.attentionDecode(heads: heads), [qkv, keys, values, position], shape: [1, 1, c])
    }

    /// Σ_i w_i · −log softmax(logits_i)[targets_i] / the normaliser (`LossNormalizer`).
    public func crossEntropy(logits: TensorID, targets: TensorID, weights: TensorID, normalizer: LossNormalizer = .weights) throws -> TensorID {
        try requireFloat(logits, weights, op: "cross_entropy")
        try check(targets)
        let n = tensors[logits].rows
        guard tensors[targets].dtype == .int32, tensors[targets].count == n, tensors[weights].count == n else {
            throw GraphError("cross_entropy: targets \(describe(targets)) (int32) and weights \(describe(weights)) must have one entry per row of logits \(describe(logits))")
        }
        return node(.crossEntropy(normalizer), [logits, targets, weights], shape: [], saved: [("probs", tensors[logits].shape)])
    }

    /// prediction [N, F], target [N, F], weights [N] → Σ_i w_i · mean_f (p − t)² / max(Σ w, 1).
    /// The gradient reaches the prediction, and the target when it requires one; the weights
    /// get none, so they may not be a parameter or depend on one.
    public func mse(prediction: TensorID, target: TensorID, weights: TensorID) throws -> TensorID {
        try requireFloat(prediction, target, weights, op: "mse")
        guard tensors[target].shape == tensors[prediction].shape else {
            throw GraphError("mse: target \(describe(target)) must have the shape of prediction \(describe(prediction))")
        }
        guard tensors[weights].count == tensors[prediction].rows else {
            throw GraphError("mse: weights \(describe(weights)) must have one entry per row of prediction \(describe(prediction))")
        }
        guard !tensors[weights].requiresGrad else {
            throw GraphError("mse: weights \(describe(weights)) depend on a parameter, but the loss has no gradient for its weights")
        }
        return node(.mse, [prediction, target, weights], shape: [])
    }

    public func mean(_ x: TensorID) throws -> TensorID {
        try requireFloat(x, op: "mean")
        return node(.mean, [x], shape: [])
    }

    /// x [B, T, C] → its positions `range` [B, range.count, C].
    public func sequenceSlice(_ x: TensorID, _ range: Range<Int>) throws -> TensorID {
        try requireFloat(x, op: "sequence_slice")
        let s = tensors[x].shape
        guard s.count == 3, range.lowerBound >= 0, range.upperBound <= s[1], !range.isEmpty else {
            throw GraphError("sequence_slice: positions \(range) are not a non-empty range of \(describe(x)) [B, T, C]")
        }
        return node(.sequenceSlice(start: range.lowerBound, length: range.count), [x], shape: [s[0], range.count, s[2]])
    }

    /// a [B, Ta, C] and b [B, Tb, C] → [B, Ta + Tb, C]: a's positions, then b's.
    public func sequenceConcat(_ a: TensorID, _ b: TensorID) throws -> TensorID {
        try requireFloat(a, b, op: "sequence_concat")
        let (sa, sb) = (tensors[a].shape, tensors[b].shape)
        guard sa.count == 3, sb.count == 3, sa[0] == sb[0], sa[2] == sb[2] else {
            throw GraphError("sequence_concat: \(describe(a)) and \(describe(b)) must be [B, T, C] with the same B and C")
        }
        return node(.sequenceConcat, [a, b], shape: [sa[0], sa[1] + sb[1], sa[2]])
    }

    /// Marks a tensor to be readable after a run.
    public func markOutput(_ id: TensorID) throws {
        try check(id)
        if !outputs.contains(id) { outputs.append(id) }
    }

    // MARK: Autodiff

    /// Derives the backward steps of `loss` (a scalar): reverse-mode over the node list, one
    /// step per node on a path from a parameter to the loss, gradients accumulated in place.
    public func differentiate(loss: TensorID) throws {
        try check(loss)
        guard tensors[loss].count == 1 else { throw GraphError("the loss \(describe(loss)) must be a scalar") }
        guard tensors[loss].requiresGrad else { throw GraphError("the loss \(describe(loss)) does not depend on any parameter") }
        precondition(backwardSteps.isEmpty, "a graph is differentiated once")
        self.loss = loss
        try markOutput(loss)

        // Which tensors lie on a path to the loss (walk nodes backwards from it).
        var reaches = [Bool](repeating: false, count: tensors.count)
        reaches[loss] = true
        for node in nodes.reversed() where reaches[node.output] {
            for i in node.inputs where tensors[i].requiresGrad { reaches[i] = true }
        }
        // Gradient tensors.
        for id in tensors.indices where reaches[id] && tensors[id].requiresGrad && tensors[id].gradient == nil {
            let info = tensors[id]
            let storage: Storage
            if case .parameter(let offset) = info.storage { storage = .parameterGradient(offset: offset) } else { storage = .activationGradient }
            let g = add(TensorInfo(name: "grad(\(info.name))", shape: info.shape, dtype: .float32, storage: storage, requiresGrad: false))
            tensors[id].gradient = g
        }
        if let node = nodes.first(where: { reaches[$0.output] && !$0.op.hasBackward }) {
            throw GraphError("\(node.op.name) has no backward: it serves generation only")
        }
        for (index, node) in nodes.enumerated().reversed() where reaches[node.output] {
            let inputGrads = node.inputs.map { reaches[$0] ? tensors[$0].gradient : nil }
            backwardSteps.append(BackwardStep(node: index, outputGradient: tensors[node.output].gradient!, inputGradients: inputGrads))
        }
    }
}
