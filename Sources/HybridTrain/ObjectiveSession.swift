import CHybridPlugin
import HybridCore
import HybridNN
import HybridPlugins

/// One objective of a run: its plugin instance, its training graph, and the random streams
/// that draw its examples and corrupt them.
///
/// A batch is drawn as one or more data shards, each `batchSize / shards` rows with a stream
/// of its own; in a data-parallel run rank r holds shard r, so one process holding shards
/// 0..<N with N× the batch draws exactly what N ranks draw (`hybrid train --data-shards`).
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
    /// Text objectives' standard inputs, int32 / int32 / float [B, T]; nil for images.
    let text: (tokens: TensorID, targets: TensorID, lossWeights: TensorID)?
    /// Float inputs the objective made itself (api->input), by name.
    let namedInputs: [String: TensorID]
    let loss: TensorID
    /// The row weights the loss is normalised by, when the loss is one cross_entropy or mse
    /// over an input's weights (every bundled objective's is).
    let lossRowWeights: TensorID?
    /// The rows of a loss normalised by its rows (a fixed normaliser), nil otherwise.
    let lossRows: Int?
    /// The head's output (logits [B, T, 256] for text objectives), kept for metrics.
    let output: TensorID
    let batchSize: Int
    let seqLen: Int
    public private(set) var executable: Executable?
    /// Drawn examples: windows [B, T + windowExtra] for text; pixels [B, side²] and labels
    /// [B] for images.
    private var windows: [UInt8] = []
    private var pixels: [Float] = []
    private var labels: [Int32] = []
    private var imageSide = 0, imageChannels = 1
    /// The drawn images' captions, [B, captionWidth] bytes 0-padded, and their lengths; width 0
    /// when the data has none. The width is the longest caption of the whole set.
    private var captionBytes: [UInt8] = [], captionLengths: [Int32] = [], captionWidth = 0
    /// The shards this process draws, in order.
    private var shards: [Shard]
    /// The frozen teacher prepare_batch may run (a recipe `teacher:`): the objective's own
    /// inference graph over the teacher checkpoint's weights, in a store of its own.
    private var teacher: SamplerContext?
    /// Rows of the objective's own inference graph over the weights being trained, which
    /// prepare_batch runs (build asked for it; ABI 1.8); 0: none.
    public let ownModelBatch: Int
    private var ownModel: SamplerContext?

    public init(name: String, weight: (start: Float, end: Float, shape: hybrid_schedule_kind), instance: ObjectiveInstance, parameters: ParameterStore,
                backbone: Backbone, batchSize: Int, seqLen: Int, seed: UInt64, shards: Range<Int> = 0..<1,
                log: @escaping (String) -> Void) throws {
        guard !shards.isEmpty, batchSize % shards.count == 0 else {
            throw TrainError("objective \(name): its batch of \(batchSize) does not split into \(shards.count) data shards")
        }
        self.name = name
        (weightStart, weightEnd, weightShape) = weight
        self.instance = instance
        self.batchSize = batchSize
        self.seqLen = seqLen
        let g = Graph(parameters: parameters)
        if instance.plugin.dataKind == .text {
            text = (g.input("tokens", shape: [batchSize, seqLen], dtype: .int32),
                    g.input("targets", shape: [batchSize, seqLen], dtype: .int32),
                    g.input("loss_weights", shape: [batchSize, seqLen], dtype: .float32))
            windows = [UInt8](repeating: 0, count: batchSize * (seqLen + instance.plugin.windowExtra))
        } else {
            text = nil
        }
        let context = GraphBuildContext(graph: g, backbone: backbone, log: log)
        let none = HYBRID_NO_TENSOR
        let built = try instance.build(api: HostAPI.table, graph: context.handle, inputs: ObjectiveBuildInputs(
            mode: .train, batchSize: batchSize, seqLen: seqLen, dModel: backbone.config.dModel,
            tokens: text.map { hybrid_tensor($0.tokens) } ?? none, targets: text.map { hybrid_tensor($0.targets) } ?? none,
            lossWeights: text.map { hybrid_tensor($0.lossWeights) } ?? none))
        let loss = TensorID(built.loss!)
        self.loss = loss
        ownModelBatch = built.ownModelBatch
        lossRowWeights = g.nodes.first { $0.output == loss }.flatMap { node in
            switch node.op {
            case .crossEntropy(.weights), .mse: g[node.inputs[2]].storage == .input ? node.inputs[2] : nil
            default: nil
            }
        }
        lossRows = g.nodes.first { $0.output == loss && $0.op == .crossEntropy(.rows) }.map { g[$0.inputs[0]].rows }
        output = TensorID(built.output)
        try g.differentiate(loss: loss)
        try g.markOutput(output)
        graph = g
        namedInputs = context.namedInputs
        self.shards = shards.map { Shard(index: $0, stream: RandomStream(seed: seed, stream: RandomStream.streamID(Self.streamName(name, shard: $0)))) }
    }

    /// One data shard: its global index, its stream (at a stable address for the C side) and
    /// its rows of every input.
    final class Shard {
        let index: Int
        let rng: UnsafeMutablePointer<RandomStream>
        var inputs = NamedInputs([:])

        init(index: Int, stream: RandomStream) {
            self.index = index
            rng = .allocate(capacity: 1)
            rng.initialize(to: stream)
        }

        deinit { rng.deallocate() }
    }

    /// The name of shard `shard`'s stream (and its checkpoint key); shard 0 keeps the name a
    /// one-process run has always used.
    public static func streamName(_ objective: String, shard: Int) -> String {
        "objective/\(objective)" + (shard == 0 ? "" : "/shard\(shard)")
    }

    /// The global indices of the shards this process draws.
    public var shardIndices: [Int] { shards.map(\.index) }

    /// The state of shard `index`'s stream (its batches, data positions and masks), for
    /// checkpoints that resume exactly.
    public func streamState(shard index: Int) -> UInt64 { shards.first { $0.index == index }!.rng.pointee.state }

    public func setStreamState(shard index: Int, _ state: UInt64) {
        shards.first { $0.index == index }!.rng.pointee = RandomStream(state: state)
    }

    /// Runs the objective on `exe`, compiled from `graph`.
    public func bind(_ exe: Executable) throws {
        executable = exe
        // Each shard's rows of every input: inputs are batch-major, so a shard's are one
        // contiguous slice.
        let k = shards.count
        for (j, shard) in shards.enumerated() {
            func rows<T>(_ all: UnsafeMutableBufferPointer<T>, _ id: TensorID) throws -> UnsafeMutableBufferPointer<T> {
                guard all.count % k == 0 else {
                    throw TrainError("objective \(name): its input \(graph[id].name) holds \(all.count) values, which do not split into \(k) data shards")
                }
                return UnsafeMutableBufferPointer(rebasing: all[(j * all.count / k)..<((j + 1) * all.count / k)])
            }
            let floats = namedInputs.filter { graph[$0.value].dtype == .float32 }, ids = namedInputs.filter { graph[$0.value].dtype == .int32 }
            shard.inputs = NamedInputs(try floats.mapValues { try rows(exe.floatInput($0), $0) }, ids: try ids.mapValues { try rows(exe.int32Input($0), $0) })
        }
    }

    /// Builds the objective's inference graph over the weights of `contents` (the checkpoint
    /// read from `path`) — every parameter it names must be there with its shape — frozen, for
    /// prepare_batch.
    func attachTeacher(_ contents: Checkpoint.Contents, path: String, backbone: Backbone, backend: Backend) throws {
        guard shards.count == 1 else {
            throw TrainError("objective \(name): an objective with a teacher draws its batch as one data shard per process, not \(shards.count)")
        }
        let store = ParameterStore()
        teacher = try inferenceContext(parameters: store, batchSize: batchSize, backbone: backbone, backend: backend) {
            store.materialize(seed: 0, memory: backend.parameterMemory())
            do {
                try Checkpoint.load(contents, into: store, path: path)
            } catch {
                throw TrainError("objective \(name): its teacher cannot run: \(error) (a teacher is a checkpoint of the same model: "
                    + "the same backbone, and the heads this objective builds, e.g. a denoising model for distill)")
            }
        }
    }

    /// Builds the objective's inference graph at `ownModelBatch` over `parameters` — the
    /// store it trains, already allocated — for prepare_batch: it reads the weights as they
    /// stand at each step, and nothing flows back through it.
    func attachOwnModel(parameters: ParameterStore, backbone: Backbone, backend: Backend) throws {
        guard shards.count == 1 else {
            throw TrainError("objective \(name): an objective that runs its own model in prepare_batch draws its batch as one data shard per process, not \(shards.count)")
        }
        ownModel = try inferenceContext(parameters: parameters, batchSize: ownModelBatch, backbone: backbone, backend: backend) {}
    }

    /// The objective's inference graph at `batchSize` over `parameters`, compiled after
    /// `allocate` (which fills the parameters the graph declared), as api->sampler_run runs it.
    private func inferenceContext(parameters: ParameterStore, batchSize: Int, backbone: Backbone, backend: Backend,
                                  allocate: () throws -> Void) throws -> SamplerContext {
        let model = try InferenceGraph(instance: instance, parameters: parameters, backbone: backbone, batchSize: batchSize, seqLen: seqLen)
        try allocate()
        try model.compile(on: backend)
        return SamplerContext(run: { inputs, out in try model.run(inputs, into: out) }, emitImage: { _ in })
    }

    /// Draws a fresh batch and lets the plugin turn it into inputs; `progress` is the
    /// fraction of the run done, for plugins that schedule their settings.
    func loadBatch(from data: TrainingData, progress: Float) throws {
        let rows = batchSize / shards.count
        for (j, shard) in shards.enumerated() {
            try draw(from: data, .train, rows: (j * rows)..<((j + 1) * rows), stream: &shard.rng.pointee)
        }
        try prepare(progress: progress, isValidation: false)
    }

    /// Every input of a prepared batch, to be restored for scoring.
    struct FixedBatch {
        var ints: [TensorID: [Int32]] = [:]
        var floats: [TensorID: [Float]] = [:]
    }

    /// A fixed validation batch: examples drawn from the held-out data with `stream`,
    /// prepared once (each shard's rows with its stream, as training batches are).
    func fixedBatch(from data: TrainingData, stream: inout RandomStream) throws -> FixedBatch {
        try draw(from: data, .validation, rows: 0..<batchSize, stream: &stream)
        try prepare(progress: 0, isValidation: true)
        let exe = executable!
        var batch = FixedBatch()
        for (id, t) in graph.tensors.enumerated() where t.storage == .input {
            if t.dtype == .int32 { batch.ints[id] = Array(exe.int32Input(id)) } else { batch.floats[id] = Array(exe.floatInput(id)) }
        }
        return batch
    }

    /// Draws examples for rows `rows` of the batch.
    private func draw(from data: TrainingData, _ part: TrainingData.Part, rows: Range<Int>, stream: inout RandomStream) throws {
        switch instance.plugin.dataKind {
        case .text:
            guard let corpus = data.text else { throw TrainError("objective \(name) reads text, but the recipe's data has no text") }
            let length = seqLen + instance.plugin.windowExtra
            try windows.withUnsafeMutableBufferPointer {
                try corpus.drawWindows(from: part, count: rows.count, length: length, rng: &stream, into: $0.baseAddress! + rows.lowerBound * length)
            }
        case .images:
            guard let images = data.images else { throw TrainError("objective \(name) reads images, but the recipe's data has no images") }
            let set = part == .train ? images.train : images.validation
            imageSide = set.side
            imageChannels = set.channels
            let n = set.values
            if pixels.count != batchSize * n { pixels = Array(repeating: 0, count: batchSize * n) }
            if labels.count != batchSize { labels = Array(repeating: 0, count: batchSize) }
            if set.captions != nil, captionWidth == 0 {
                captionWidth = max(1, ((images.train.captions ?? []) + (images.validation.captions ?? [])).map(\.utf8.count).max() ?? 1)
                captionBytes = Array(repeating: 0, count: batchSize * captionWidth)
                captionLengths = Array(repeating: 0, count: batchSize)
            }
            for b in rows {
                let i = stream.below(set.count)
                pixels.replaceSubrange((b * n)..<((b + 1) * n), with: set.pixels[(i * n)..<((i + 1) * n)])
                labels[b] = set.labels[i]
                if let captions = set.captions {
                    let w = captionWidth
                    captionLengths[b] = captionBytes.withUnsafeMutableBufferPointer {
                        CaptionRows.write(captions[i], into: UnsafeMutableBufferPointer(rebasing: $0[(b * w)..<((b + 1) * w)]))
                    }
                }
            }
        }
    }

    /// Lets the plugin prepare the drawn examples, shard by shard, each with its stream.
    private func prepare(progress: Float, isValidation: Bool) throws {
        let exe = executable!
        let rows = batchSize / shards.count
        for (j, shard) in shards.enumerated() {
            let rngHandle = OpaquePointer(shard.rng)
            if let text {
                let window = seqLen + instance.plugin.windowExtra
                func slice<T>(_ all: UnsafeMutableBufferPointer<T>) -> UnsafeMutableBufferPointer<T> {
                    UnsafeMutableBufferPointer(rebasing: all[(j * rows * seqLen)..<((j + 1) * rows * seqLen)])
                }
                try windows.withUnsafeBufferPointer { w in
                    try instance.prepareBatch(text: UnsafeBufferPointer(rebasing: w[(j * rows * window)..<((j + 1) * rows * window)]),
                                              batchSize: rows, seqLen: seqLen, tokens: slice(exe.int32Input(text.tokens)),
                                              targets: slice(exe.int32Input(text.targets)), lossWeights: slice(exe.floatInput(text.lossWeights)),
                                              inputs: shard.inputs, api: HostAPI.table, rng: rngHandle, progress: progress, isValidation: isValidation)
                }
            } else {
                let n = imageSide * imageSide * imageChannels
                let w = captionWidth
                try pixels.withUnsafeBufferPointer { p in
                    try labels.withUnsafeBufferPointer { l in
                        try captionBytes.withUnsafeBufferPointer { c in
                            try captionLengths.withUnsafeBufferPointer { cl in
                                let captions = w == 0 ? nil : CaptionRows(bytes: c.baseAddress! + j * rows * w, lengths: cl.baseAddress! + j * rows, width: w)
                                try instance.prepareBatch(images: p.baseAddress! + j * rows * n, labels: l.baseAddress! + j * rows, side: imageSide,
                                                          channels: imageChannels, captions: captions, batchSize: rows, inputs: shard.inputs,
                                                          api: HostAPI.table, rng: rngHandle, progress: progress, isValidation: isValidation,
                                                          teacher: teacher?.handle, ownModel: ownModel?.handle)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Validation of one fixed batch: the loss, and for text how many of the scored positions
    /// the most likely byte got right (weighted like the loss).
    struct Score {
        var loss: Float
        var correct: Double
        var scored: Double
    }

    func evaluate(_ batch: FixedBatch) -> Score {
        let exe = executable!
        for (id, values) in batch.ints { _ = exe.int32Input(id).update(fromContentsOf: values) }
        for (id, values) in batch.floats { _ = exe.floatInput(id).update(fromContentsOf: values) }
        exe.forward()
        var score = Score(loss: exe.read(loss)[0], correct: 0, scored: 0)
        guard let text else { return score }
        let logits = exe.read(output)
        let vocab = graph[output].columns
        let targets = batch.ints[text.targets]!, weights = batch.floats[text.lossWeights]!
        for (i, w) in weights.enumerated() where w > 0 {
            let row = logits[(i * vocab)..<((i + 1) * vocab)]
            if row.indices.max(by: { row[$0] < row[$1] })! - i * vocab == Int(targets[i]) { score.correct += Double(w) }
            score.scored += Double(w)
        }
        return score
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

    /// The loss's normaliser before its max(·, 1) in the loaded batch — the sum of its row
    /// weights, or its rows for a loss normalised by rows — or nil for a loss without row
    /// weights. A data-parallel step needs it to weigh each rank's gradient as one batch over
    /// all ranks would.
    func lossWeightSum() -> Double? {
        lossRows.map(Double.init) ?? lossRowWeights.map { executable!.floatInput($0).reduce(0) { $0 + Double($1) } }
    }

    /// Positions the backbone processes per step (B×T tokens, or B×patches).
    var positionsPerStep: Int { graph[output].rows }

    var isText: Bool { text != nil }
}
