import CHybridPlugin
import HybridCore
import HybridNN
import HybridPlugins

/// One objective of a run: its plugin instance, its training graph, and its own random
/// stream for drawing windows and corrupting them.
///
/// Built in two phases because objectives share parameters: every session's graph is built
/// (declaring parameters) before the store is allocated, then each is compiled.
public final class ObjectiveSession {
    public let name: String
    /// The weight's schedule over the run (start, end, shape).
    let weightStart: Float
    let weightEnd: Float
    let weightShape: hybrid_schedule_kind
    public let instance: ObjectiveInstance
    public let graph: Graph
    let tokens: TensorID
    let targets: TensorID
    let lossWeights: TensorID
    let loss: TensorID
    /// The head's output (logits [B, T, 256] for text objectives), kept for metrics.
    let output: TensorID
    let batchSize: Int
    let seqLen: Int
    public private(set) var executable: Executable?
    /// Drawn windows, [B, T + windowExtra].
    private var windows: [UInt8]
    /// The stream handed to the plugin's prepare_batch (stable address for the C side).
    private let rng: UnsafeMutablePointer<RandomStream>

    public init(name: String, weight: (start: Float, end: Float, shape: hybrid_schedule_kind), instance: ObjectiveInstance, parameters: ParameterStore,
                backbone: Backbone, batchSize: Int, seqLen: Int, seed: UInt64, log: @escaping (String) -> Void) throws {
        self.name = name
        (weightStart, weightEnd, weightShape) = weight
        self.instance = instance
        self.batchSize = batchSize
        self.seqLen = seqLen
        let g = Graph(parameters: parameters)
        tokens = g.input("tokens", shape: [batchSize, seqLen], dtype: .int32)
        targets = g.input("targets", shape: [batchSize, seqLen], dtype: .int32)
        lossWeights = g.input("loss_weights", shape: [batchSize, seqLen], dtype: .float32)
        let context = GraphBuildContext(graph: g, backbone: backbone, log: log)
        let built = try instance.build(api: HostAPI.table, graph: context.handle, inputs: ObjectiveBuildInputs(
            mode: .train, batchSize: batchSize, seqLen: seqLen, dModel: backbone.config.dModel,
            tokens: hybrid_tensor(tokens), targets: hybrid_tensor(targets), lossWeights: hybrid_tensor(lossWeights)))
        loss = TensorID(built.loss!)
        output = TensorID(built.output)
        try g.differentiate(loss: loss)
        try g.markOutput(output)
        graph = g
        windows = [UInt8](repeating: 0, count: batchSize * (seqLen + instance.plugin.windowExtra))
        rng = .allocate(capacity: 1)
        rng.initialize(to: RandomStream(seed: seed, stream: RandomStream.streamID("objective/\(name)")))
    }

    deinit { rng.deallocate() }

    public func compile(on backend: Backend) throws {
        executable = try backend.compile(graph)
    }

    var windowLength: Int { seqLen + instance.plugin.windowExtra }

    /// Draws a fresh batch from `text` and lets the plugin turn it into inputs; `progress` is
    /// the fraction of the run done, for plugins that schedule their settings.
    func loadBatch(from text: [UInt8], progress: Float) throws {
        try windows.withUnsafeMutableBufferPointer { w in
            try TextCorpus.drawWindows(from: text, count: batchSize, length: windowLength, rng: &rng.pointee, into: w.baseAddress!)
        }
        try prepare(windows, into: executable!, progress: progress)
    }

    /// A fixed batch for validation: windows drawn from `text` with `stream`, prepared once.
    func fixedBatch(from text: [UInt8], stream: inout RandomStream) throws -> FixedBatch {
        var w = [UInt8](repeating: 0, count: windows.count)
        try w.withUnsafeMutableBufferPointer {
            try TextCorpus.drawWindows(from: text, count: batchSize, length: windowLength, rng: &stream, into: $0.baseAddress!)
        }
        let exe = executable!
        try prepare(w, into: exe, progress: 0)
        return FixedBatch(tokens: Array(exe.int32Input(tokens)), targets: Array(exe.int32Input(targets)),
                          weights: Array(exe.floatInput(lossWeights)))
    }

    private func prepare(_ w: [UInt8], into exe: Executable, progress: Float) throws {
        try w.withUnsafeBufferPointer { text in
            try instance.prepareBatch(text: text, batchSize: batchSize, seqLen: seqLen,
                                      tokens: exe.int32Input(tokens), targets: exe.int32Input(targets),
                                      lossWeights: exe.floatInput(lossWeights), api: HostAPI.table,
                                      rng: OpaquePointer(rng), progress: progress)
        }
    }

    struct FixedBatch {
        var tokens: [Int32]
        var targets: [Int32]
        var weights: [Float]
    }

    /// The loss on a fixed batch, forward only.
    /// Validation of one fixed batch: the loss, and how many of the scored positions the
    /// most likely byte got right (weighted like the loss).
    struct Score {
        var loss: Float
        var correct: Double
        var scored: Double
    }

    func evaluate(_ batch: FixedBatch) -> Score {
        let exe = executable!
        _ = exe.int32Input(tokens).update(fromContentsOf: batch.tokens)
        _ = exe.int32Input(targets).update(fromContentsOf: batch.targets)
        _ = exe.floatInput(lossWeights).update(fromContentsOf: batch.weights)
        exe.forward()
        let logits = exe.read(output)
        let vocab = graph[output].columns
        var correct = 0.0, scored = 0.0
        for (i, w) in batch.weights.enumerated() where w > 0 {
            let row = logits[(i * vocab)..<((i + 1) * vocab)]
            if row.indices.max(by: { row[$0] < row[$1] })! - i * vocab == Int(batch.targets[i]) { correct += Double(w) }
            scored += Double(w)
        }
        return Score(loss: exe.read(loss)[0], correct: correct, scored: scored)
    }

    /// Forward and backward on the loaded batch; gradients accumulate into the shared
    /// parameter gradients, scaled by `seed` (the objective's weight when objectives are
    /// summed, 1 when one is sampled per step). Returns the loss.
    func trainStep(seed: Float) -> Float {
        let exe = executable!
        exe.forward()
        exe.backward(seed: seed)
        return exe.read(loss)[0]
    }

    /// The objective's weight when `progress` of the run is done.
    public func weight(at progress: Float) -> Float {
        hybrid_schedule(weightShape, weightStart, weightEnd, progress)
    }

    /// Positions the backbone processed per step.
    var positionsPerStep: Int { batchSize * seqLen }
}
