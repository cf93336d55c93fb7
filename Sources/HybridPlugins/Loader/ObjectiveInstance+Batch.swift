import CHybridPlugin

/// Float inputs a plugin created with api->input, as the host allocated them, handed to
/// prepare_batch through `hybrid_batch.input_buffer`.
public final class NamedInputs {
    let buffers: [String: UnsafeMutableBufferPointer<Float>]
    /// The int32 inputs (token ids), handed out through the same lookup as float *.
    let ids: [String: UnsafeMutableBufferPointer<Int32>]

    public init(_ buffers: [String: UnsafeMutableBufferPointer<Float>], ids: [String: UnsafeMutableBufferPointer<Int32>] = [:]) {
        self.buffers = buffers
        self.ids = ids
    }

    var handle: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

    /// `hybrid_batch.input_buffer`: the buffer named `name` and its length, or NULL.
    static let lookup: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, UnsafeMutablePointer<Int64>?)
        -> UnsafeMutablePointer<Float>? = { host, name, count in
            guard let host, let name else { return nil }
            let inputs = Unmanaged<NamedInputs>.fromOpaque(host).takeUnretainedValue()
            let key = String(cString: name)
            if let ids = inputs.ids[key] {
                count?.pointee = Int64(ids.count)
                return UnsafeMutableRawPointer(ids.baseAddress).map { $0.assumingMemoryBound(to: Float.self) }
            }
            guard let buffer = inputs.buffers[key] else { return nil }
            count?.pointee = Int64(buffer.count)
            return buffer.baseAddress
        }
}

/// Rows of caption bytes as the ABI carries them: [N, width] bytes, 0-padded, and [N] lengths.
public struct CaptionRows {
    public var bytes: UnsafePointer<UInt8>
    public var lengths: UnsafePointer<Int32>
    public var width: Int

    public init(bytes: UnsafePointer<UInt8>, lengths: UnsafePointer<Int32>, width: Int) {
        (self.bytes, self.lengths, self.width) = (bytes, lengths, width)
    }

    /// `captions` as rows of `width` bytes (0-padded) and their lengths; each must fit.
    public static func pack(_ captions: [String], width: Int) -> (bytes: [UInt8], lengths: [Int32]) {
        var bytes = [UInt8](repeating: 0, count: captions.count * width), lengths = [Int32](repeating: 0, count: captions.count)
        bytes.withUnsafeMutableBufferPointer { rows in
            for (i, caption) in captions.enumerated() {
                lengths[i] = write(caption, into: UnsafeMutableBufferPointer(rebasing: rows[(i * width)..<((i + 1) * width)]))
            }
        }
        return (bytes, lengths)
    }

    /// Writes `caption`'s UTF-8 bytes into `row`, 0-padded, and returns their count; it must fit.
    /// Allocates nothing (the batch path calls it for every drawn image).
    @discardableResult
    public static func write(_ caption: String, into row: UnsafeMutableBufferPointer<UInt8>) -> Int32 {
        var n = 0
        for byte in caption.utf8 {
            precondition(n < row.count, "a caption of more than \(row.count) bytes in a row of \(row.count)")
            row[n] = byte
            n += 1
        }
        for j in n..<row.count { row[j] = 0 }
        return Int32(n)
    }
}

extension ObjectiveInstance {
    /// Calls prepare_batch for a text objective: B raw windows of `seqLen + windowExtra`
    /// bytes in, [B, T] tokens, targets and loss weights out, into host-owned buffers. The
    /// outputs are first filled with values no plugin may leave (-1, NaN), then checked, so a
    /// position the plugin skipped or an id out of range is an error here rather than a bad
    /// index in a kernel.
    ///
    ///     text         [B, T + windowExtra]  bytes, row-major
    ///     tokens       [B, T]  out: ids in 0..<HYBRID_VOCAB
    ///     targets      [B, T]  out: ids in 0..<HYBRID_BYTE_VOCAB
    ///     lossWeights  [B, T]  out: finite, ≥ 0
    ///
    /// `progress` is the fraction of the run done (0 for validation batches); `inputs` are
    /// any float inputs the objective added in build.
    public func prepareBatch(text: UnsafeBufferPointer<UInt8>, batchSize: Int, seqLen: Int,
                             tokens: UnsafeMutableBufferPointer<Int32>,
                             targets: UnsafeMutableBufferPointer<Int32>,
                             lossWeights: UnsafeMutableBufferPointer<Float>,
                             inputs: NamedInputs = NamedInputs([:]),
                             api: UnsafePointer<hybrid_host_api>? = nil,
                             rng: OpaquePointer? = nil, progress: Float = 0,
                             isValidation: Bool = false) throws(PluginError) {
        let count = batchSize * seqLen
        precondition(text.count == batchSize * (seqLen + plugin.windowExtra),
                     "text holds \(text.count) bytes; expected B × (T + \(plugin.windowExtra))")
        precondition(tokens.count == count && targets.count == count && lossWeights.count == count,
                     "batch buffers must hold B × T = \(count) values")
        tokens.update(repeating: -1)
        targets.update(repeating: -1)
        lossWeights.update(repeating: .nan)
        var request = hybrid_batch_request(
            header: PluginABI.header(for: hybrid_batch_request.self),
            batch_size: Int32(batchSize), seq_len: Int32(seqLen), text: text.baseAddress,
            api: api, rng: rng, progress: progress, is_validation: isValidation ? 1 : 0,
            images: nil, labels: nil, image_side: 0, teacher: nil, image_channels: 0,
            captions: nil, caption_lengths: nil, caption_width: 0, own_model: nil)
        try call(&request, tokens: tokens.baseAddress, targets: targets.baseAddress,
                 lossWeights: lossWeights.baseAddress, inputs: inputs)

        func position(_ i: Int) -> String { "[\(i / seqLen), \(i % seqLen)]" }
        for i in 0..<count {
            guard (0..<HYBRID_VOCAB).contains(tokens[i]) else {
                throw failure("prepare_batch", "tokens\(position(i)) is \(tokens[i]); "
                    + "expected an id in 0..<\(HYBRID_VOCAB)")
            }
            guard (0..<HYBRID_BYTE_VOCAB).contains(targets[i]) else {
                throw failure("prepare_batch", "targets\(position(i)) is \(targets[i]); "
                    + "expected a byte in 0..<\(HYBRID_BYTE_VOCAB)")
            }
            guard lossWeights[i].isFinite, lossWeights[i] >= 0 else {
                throw failure("prepare_batch", "loss_weights\(position(i)) is \(lossWeights[i]); "
                    + "expected a finite weight ≥ 0")
            }
        }
    }

    /// Calls prepare_batch for an image objective: B images (side² · channels values, in
    /// [-1, 1]) and their labels in; the objective's own float inputs out, each checked to be
    /// finite. `teacher` is the objective's frozen teacher and `ownModel` its own inference graph
    /// over the weights being trained, for api->sampler_run, when it has them.
    public func prepareBatch(images: UnsafePointer<Float>, labels: UnsafePointer<Int32>, side: Int, channels: Int,
                             captions: CaptionRows? = nil, batchSize: Int,
                             inputs: NamedInputs, api: UnsafePointer<hybrid_host_api>, rng: OpaquePointer,
                             progress: Float, isValidation: Bool, teacher: OpaquePointer? = nil,
                             ownModel: OpaquePointer? = nil) throws(PluginError) {
        var request = hybrid_batch_request(
            header: PluginABI.header(for: hybrid_batch_request.self),
            batch_size: Int32(batchSize), seq_len: 0, text: nil,
            api: api, rng: rng, progress: progress, is_validation: isValidation ? 1 : 0,
            images: images, labels: labels, image_side: Int32(side), teacher: teacher, image_channels: Int32(channels),
            captions: captions?.bytes, caption_lengths: captions?.lengths, caption_width: Int32(captions?.width ?? 0),
            own_model: ownModel)
        try call(&request, tokens: nil, targets: nil, lossWeights: nil, inputs: inputs)
    }

    private func call(_ request: inout hybrid_batch_request, tokens: UnsafeMutablePointer<Int32>?,
                      targets: UnsafeMutablePointer<Int32>?, lossWeights: UnsafeMutablePointer<Float>?,
                      inputs: NamedInputs) throws(PluginError) {
        for buffer in inputs.buffers.values { buffer.update(repeating: .nan) }
        for buffer in inputs.ids.values { buffer.update(repeating: -1) }
        var batch = hybrid_batch(
            header: PluginABI.header(for: hybrid_batch.self),
            tokens: tokens, targets: targets, loss_weights: lossWeights,
            input_buffer: NamedInputs.lookup, host: inputs.handle)
        try check(withExtendedLifetime(inputs) {
            plugin.functions.pointee.prepare_batch!(state, &request, &batch, errorBuffer.prepared())
        }, "prepare_batch")
        for (name, buffer) in inputs.buffers.sorted(by: { $0.key < $1.key }) {
            if let bad = buffer.firstIndex(where: { !$0.isFinite }) {
                throw failure("prepare_batch", "input \(name)[\(bad)] is \(buffer[bad]); expected a finite value "
                    + "(every element of every input must be written)")
            }
        }
        for (name, buffer) in inputs.ids.sorted(by: { $0.key < $1.key }) {
            if let bad = buffer.firstIndex(where: { !(0..<HYBRID_VOCAB).contains($0) }) {
                throw failure("prepare_batch", "input \(name)[\(bad)] is \(buffer[bad]); expected a token id in 0..<\(HYBRID_VOCAB) "
                    + "(every element of every input must be written)")
            }
        }
    }
}
