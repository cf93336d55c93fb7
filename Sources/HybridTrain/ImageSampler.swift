import CHybridPlugin
import HybridCore
import HybridNN
import HybridPlugins

/// Image generation through an image objective's own sample(): the host runs a [N, ...]
/// inference graph with whatever named inputs the objective sets each step, and collects
/// the images it emits.
public final class ImageSampler {
    let instance: ObjectiveInstance
    let graph: Graph
    let namedInputs: [String: TensorID]
    let output: TensorID
    public let count: Int
    private var executable: Executable?

    /// Builds the objective's inference graph for `count` images over `parameters`;
    /// `compile` once they are allocated.
    public init(instance: ObjectiveInstance, parameters: ParameterStore, backbone: Backbone, count: Int, seqLen: Int) throws {
        let g = Graph(parameters: parameters)
        let context = GraphBuildContext(graph: g, backbone: backbone, log: { _ in })
        let none = HYBRID_NO_TENSOR
        let built = try instance.build(api: HostAPI.table, graph: context.handle, inputs: ObjectiveBuildInputs(
            mode: .infer, batchSize: count, seqLen: seqLen, dModel: backbone.config.dModel,
            tokens: none, targets: none, lossWeights: none))
        output = TensorID(built.output)
        try g.markOutput(output)
        graph = g
        namedInputs = context.namedInputs
        self.instance = instance
        self.count = count
    }

    public func compile(on backend: Backend) throws {
        executable = try backend.compile(graph)
    }

    /// Draws the images `request` asks for (its count is this sampler's), the noise from `seed`.
    /// Returns [count, side²] pixels in [-1, 1].
    public func generate(_ request: ImageRequest, seed: UInt64) throws -> [Float] {
        var request = request
        request.count = count
        let side = request.side
        guard let exe = executable else { preconditionFailure("compile the sampler before generating") }
        let (graph, namedInputs, output) = (self.graph, self.namedInputs, self.output)
        var images: [Float] = []
        let context = SamplerContext(
            run: { inputs, out in
                for (name, values) in inputs {
                    guard let id = namedInputs[name] else {
                        throw TrainError("sampler_run: the inference graph has no input \(name) (it has \(namedInputs.keys.sorted().joined(separator: ", ")))")
                    }
                    let buffer = exe.floatInput(id)
                    buffer.baseAddress!.update(from: values, count: buffer.count)
                }
                exe.forward()
                exe.read(output, offset: 0, count: graph[output].count, into: out)
            },
            emitImage: { pixels in images.append(contentsOf: UnsafeBufferPointer(start: pixels, count: side * side)) })
        let rng = UnsafeMutablePointer<RandomStream>.allocate(capacity: 1)
        defer { rng.deallocate() }
        rng.initialize(to: RandomStream(seed: seed, stream: RandomStream.streamID("sample-images")))
        try instance.sample(api: HostAPI.table, sampler: context.handle, prompt: [], newTokens: 0, seqLen: 0,
                            images: request, rng: OpaquePointer(rng))
        guard images.count == count * side * side else {
            throw TrainError("\(instance.plugin.name) emitted \(images.count / max(side * side, 1)) images; \(count) were asked for")
        }
        return images
    }
}
