import Glibc
import CHybridPlugin
import HybridCore
import HybridNN
import HybridPlugins

/// Text generation through an objective's own sample(): the host supplies a forward pass
/// over a [1, seq_len] inference graph and a token picker (temperature, top-k, seed).
public final class TextSampler {
    public struct Settings: Sendable {
        public var temperature: Float
        public var topK: Int
        public var seed: UInt64
        public init(temperature: Float = 0.8, topK: Int = 40, seed: UInt64 = 1) {
            self.temperature = temperature
            self.topK = topK
            self.seed = seed
        }
    }

    let instance: ObjectiveInstance
    let graph: Graph
    private var executable: Executable?
    let tokens: TensorID
    let logits: TensorID
    let seqLen: Int
    let settings: Settings

    /// Builds the objective's inference graph over `parameters`; `compile` once they are allocated.
    public init(instance: ObjectiveInstance, parameters: ParameterStore, backbone: Backbone,
                seqLen: Int, settings: Settings) throws {
        let g = Graph(parameters: parameters)
        tokens = g.input("tokens", shape: [1, seqLen], dtype: .int32)
        let context = GraphBuildContext(graph: g, backbone: backbone, log: { _ in })
        let built = try instance.build(api: HostAPI.table, graph: context.handle, inputs: ObjectiveBuildInputs(
            mode: .infer, batchSize: 1, seqLen: seqLen, dModel: backbone.config.dModel,
            tokens: hybrid_tensor(tokens), targets: HYBRID_NO_TENSOR, lossWeights: HYBRID_NO_TENSOR))
        logits = TensorID(built.output)
        try g.markOutput(logits)
        graph = g
        self.instance = instance
        self.seqLen = seqLen
        self.settings = settings
    }

    public func compile(on backend: Backend) throws {
        executable = try backend.compile(graph)
    }

    /// Generates `count` tokens after `prompt`, handing each to `emit` as it comes.
    public func generate(prompt: [Int32], count: Int, emit: @escaping (Int32) -> Void) throws {
        guard let exe = executable else { preconditionFailure("compile the sampler before generating") }
        guard !prompt.isEmpty else { throw TrainError("the prompt is empty; give at least one byte") }
        var rng = RandomStream(seed: settings.seed, stream: RandomStream.streamID("sample"))
        let (tokens, logits, seqLen, settings) = (self.tokens, self.logits, self.seqLen, self.settings)
        let vocab = graph[logits].columns
        var scratch = [Float](repeating: 0, count: vocab)
        let context = SamplerContext(
            forward: { ids, count, all, out in
                guard count <= seqLen else { throw TrainError("sampler_forward: \(count) tokens exceed the context of \(seqLen)") }
                let input = exe.int32Input(tokens)
                for i in 0..<seqLen { input[i] = i < count ? ids[i] : HYBRID_TOKEN_PAD }
                exe.forward()
                if all {
                    exe.read(logits, offset: 0, count: count * vocab, into: out)
                } else {
                    exe.read(logits, offset: (count - 1) * vocab, count: vocab, into: out)
                }
            },
            pick: { logits, n in
                Int32(Self.pick(logits, count: n, settings: settings, rng: &rng, scratch: &scratch))
            },
            emit: emit)
        try instance.sample(api: HostAPI.table, sampler: context.handle, prompt: prompt, newTokens: count, seqLen: seqLen)
    }

    /// Temperature, then top-k, then a draw; temperature 0 is greedy.
    static func pick(_ logits: UnsafePointer<Float>, count: Int, settings: Settings, rng: inout RandomStream, scratch: inout [Float]) -> Int {
        if settings.temperature <= 0 {
            return (0..<count).max { logits[$0] < logits[$1] } ?? 0
        }
        var order = Array(0..<count)
        if settings.topK > 0 && settings.topK < count {
            order.sort { logits[$0] > logits[$1] }
            order.removeLast(count - settings.topK)
        }
        let top = order.map { logits[$0] }.max() ?? 0
        var total: Float = 0
        for (j, i) in order.enumerated() {
            scratch[j] = expf((logits[i] - top) / settings.temperature)
            total += scratch[j]
        }
        var u = rng.uniform() * total
        for (j, i) in order.enumerated() {
            u -= scratch[j]
            if u <= 0 { return i }
        }
        return order.last ?? 0
    }
}
