import CHybridPlugin
import HybridCore
import HybridNN
import HybridPlugins

/// Image generation through an image objective's own sample(): the host runs a [N, ...]
/// inference graph with whatever named inputs the objective sets each step, and collects
/// the images it emits.
public final class ImageSampler {
    let instance: ObjectiveInstance
    let model: InferenceGraph
    public var count: Int { model.batchSize }

    /// Builds the objective's inference graph for `count` images over `parameters`;
    /// `compile` once they are allocated.
    public init(instance: ObjectiveInstance, parameters: ParameterStore, backbone: Backbone, count: Int, seqLen: Int) throws {
        model = try InferenceGraph(instance: instance, parameters: parameters, backbone: backbone, batchSize: count, seqLen: seqLen)
        self.instance = instance
    }

    public func compile(on backend: Backend) throws {
        try model.compile(on: backend)
    }

    /// Draws the images `request` asks for (its count is this sampler's), the noise from `seed`.
    /// Returns [count, side², channels] values in [-1, 1].
    public func generate(_ request: ImageRequest, seed: UInt64) throws -> [Float] {
        var request = request
        request.count = count
        let values = request.side * request.side * request.channels, model = self.model
        var images: [Float] = []
        let context = SamplerContext(
            run: { inputs, out in try model.run(inputs, into: out) },
            emitImage: { pixels in images.append(contentsOf: UnsafeBufferPointer(start: pixels, count: values)) })
        let rng = UnsafeMutablePointer<RandomStream>.allocate(capacity: 1)
        defer { rng.deallocate() }
        rng.initialize(to: RandomStream(seed: seed, stream: RandomStream.streamID("sample-images")))
        try instance.sample(api: HostAPI.table, sampler: context.handle, prompt: [], newTokens: 0, seqLen: 0,
                            images: request, rng: OpaquePointer(rng))
        guard images.count == count * values else {
            throw TrainError("\(instance.plugin.name) emitted \(images.count / max(values, 1)) images; \(count) were asked for")
        }
        return images
    }
}
