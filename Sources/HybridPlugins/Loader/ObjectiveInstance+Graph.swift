import CHybridPlugin

/// Whether a build adds a loss (training) or only the output (inference).
public enum ObjectiveBuildMode: Sendable, Equatable {
    case train, infer

    var cValue: hybrid_build_mode {
        switch self {
        case .train: HYBRID_BUILD_TRAIN
        case .infer: HYBRID_BUILD_INFER
        }
    }
}

/// The graph inputs an objective's build starts from (HYBRID_NO_TENSOR for targets and
/// loss weights when inferring).
public struct ObjectiveBuildInputs: Sendable, Equatable {
    public var mode: ObjectiveBuildMode
    public var batchSize: Int
    public var seqLen: Int
    public var dModel: Int
    public var tokens: hybrid_tensor        // int32 [B, T]
    public var targets: hybrid_tensor       // int32 [B, T]
    public var lossWeights: hybrid_tensor   // float [B, T]

    public init(mode: ObjectiveBuildMode, batchSize: Int, seqLen: Int, dModel: Int,
                tokens: hybrid_tensor, targets: hybrid_tensor, lossWeights: hybrid_tensor) {
        self.mode = mode
        self.batchSize = batchSize
        self.seqLen = seqLen
        self.dModel = dModel
        self.tokens = tokens
        self.targets = targets
        self.lossWeights = lossWeights
    }
}

/// What an objective's build added: its loss (training only) and its output, and in training
/// the batch size of its own inference graph that prepare_batch runs (0: none; ABI 1.8).
public struct ObjectiveBuildOutputs: Sendable, Equatable {
    public var loss: hybrid_tensor?
    public var output: hybrid_tensor
    public var ownModelBatch = 0
}

extension ObjectiveInstance {
    /// Calls build: the objective adds embedding → backbone → head → loss to `graph` through
    /// `api`. A build that reports success but leaves out its output (or, training, its loss)
    /// is an error.
    public func build(api: UnsafePointer<hybrid_host_api>, graph: OpaquePointer,
                      inputs: ObjectiveBuildInputs) throws(PluginError) -> ObjectiveBuildOutputs {
        var info = hybrid_build_info(
            header: PluginABI.header(for: hybrid_build_info.self), mode: inputs.mode.cValue,
            batch_size: Int32(inputs.batchSize), seq_len: Int32(inputs.seqLen),
            d_model: Int32(inputs.dModel), tokens: inputs.tokens, targets: inputs.targets,
            loss_weights: inputs.lossWeights)
        var result = hybrid_build_result(
            header: PluginABI.header(for: hybrid_build_result.self),
            loss: HYBRID_NO_TENSOR, output: HYBRID_NO_TENSOR, own_model_batch: 0)
        try check(plugin.functions.pointee.build!(state, api, graph, &info, &result,
                                                  errorBuffer.prepared()),
                  "build")
        guard result.output != HYBRID_NO_TENSOR else {
            throw failure("build", "returned HYBRID_OK but set no output")
        }
        guard inputs.mode == .infer || result.loss != HYBRID_NO_TENSOR else {
            throw failure("build", "returned HYBRID_OK but set no loss in train mode")
        }
        guard result.own_model_batch == 0 || (inputs.mode == .train && (1...inputs.batchSize).contains(Int(result.own_model_batch))) else {
            throw failure("build", "asked for its own model at batch size \(result.own_model_batch); expected 0, or in train mode 1...\(inputs.batchSize) (the batch)")
        }
        return ObjectiveBuildOutputs(loss: inputs.mode == .train ? result.loss : nil,
                                     output: result.output, ownModelBatch: Int(result.own_model_batch))
    }

    /// Calls sample: a text objective continues `prompt` by `newTokens` or fills its masks; an
    /// image objective draws `images.count` images as `images` asks, from `rng`. Results reach
    /// the host through the sampler functions of `api` as they are made.
    public func sample(api: UnsafePointer<hybrid_host_api>, sampler: OpaquePointer,
                       prompt: [Int32], newTokens: Int, seqLen: Int, steps: Int = 0,
                       images: ImageRequest = ImageRequest(), rng: OpaquePointer? = nil) throws(PluginError) {
        guard let sample = plugin.functions.pointee.sample else {
            throw .cannotSample(path: plugin.path, name: plugin.name)
        }
        precondition(images.labels.map { $0.count == images.count } ?? true,
                     "sample: \(images.labels?.count ?? 0) labels for \(images.count) images")
        precondition(images.captions.map { $0.count == images.count } ?? true,
                     "sample: \(images.captions?.count ?? 0) captions for \(images.count) images")
        let width = images.captions?.map(\.utf8.count).max() ?? 0
        let packed = images.captions.map { CaptionRows.pack($0, width: width) }
        let status = prompt.withUnsafeBufferPointer { prompt in
            withOptionalBuffer(images.labels) { labels in
                withOptionalBuffer(packed?.lengths) { lengths in
                    withOptionalBytes(packed?.bytes) { bytes in
                        var request = hybrid_sample_request(
                            header: PluginABI.header(for: hybrid_sample_request.self),
                            prompt: prompt.baseAddress, prompt_length: Int32(prompt.count),
                            new_tokens: Int32(newTokens), seq_len: Int32(seqLen),
                            images: Int32(images.count), steps: Int32(images.count > 0 ? images.steps : steps), image_side: Int32(images.side), rng: rng,
                            labels: labels, guidance: images.guidance, sampler: images.sampler, eta: images.eta,
                            image_channels: Int32(images.channels), captions: bytes, caption_lengths: lengths,
                            caption_width: Int32(width))
                        return sample(state, api, sampler, &request, errorBuffer.prepared())
                    }
                }
            }
        }
        try check(status, "sample")
    }
}

/// What an image objective's sample() is asked to draw.
public struct ImageRequest: Sendable {
    /// How many images; 0 for text sampling.
    public var count = 0
    /// Sampler steps; 0: the objective's default.
    public var steps = 0
    /// The side of the square images.
    public var side = 0
    /// 1 (grey) or 3 (RGB).
    public var channels = 1
    /// One class label per image; nil: unconditional.
    public var labels: [Int32]?
    /// One caption per image; nil: none.
    public var captions: [String]?
    /// Classifier-free guidance scale (1: plain conditional).
    public var guidance: Float = 1
    public var sampler = HYBRID_SAMPLER_DEFAULT
    /// DDIM's noise scale (0: deterministic).
    public var eta: Float = 0

    public init(count: Int = 0, steps: Int = 0, side: Int = 0, channels: Int = 1, labels: [Int32]? = nil, captions: [String]? = nil,
                guidance: Float = 1, sampler: hybrid_image_sampler = HYBRID_SAMPLER_DEFAULT, eta: Float = 0) {
        (self.count, self.steps, self.side, self.channels, self.labels, self.captions, self.guidance, self.sampler, self.eta)
            = (count, steps, side, channels, labels, captions, guidance, sampler, eta)
    }
}

/// Calls body with the bytes' storage, or with nil for a nil array.
private func withOptionalBytes<R>(_ values: [UInt8]?, _ body: (UnsafePointer<UInt8>?) -> R) -> R {
    guard let values else { return body(nil) }
    return values.withUnsafeBufferPointer { body($0.baseAddress) }
}

/// Calls body with the array's storage, or with nil for a nil array.
private func withOptionalBuffer<R>(_ values: [Int32]?, _ body: (UnsafePointer<Int32>?) -> R) -> R {
    guard let values else { return body(nil) }
    return values.withUnsafeBufferPointer { body($0.baseAddress) }
}
