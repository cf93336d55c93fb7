import CHybridPlugin

extension ObjectiveInstance {
    /// Calls prepare_batch: B raw windows of `seqLen + windowExtra` bytes in, [B, T] tokens,
    /// targets and loss weights out, into host-owned buffers. The outputs are first filled
    /// with values no plugin may leave (-1, NaN), then checked, so a position the plugin
    /// skipped or an id out of range is an error here rather than a bad index in a kernel.
    ///
    ///     text         [B, T + windowExtra]  bytes, row-major
    ///     tokens       [B, T]  out: ids in 0..<HYBRID_VOCAB
    ///     targets      [B, T]  out: ids in 0..<HYBRID_BYTE_VOCAB
    ///     lossWeights  [B, T]  out: finite, ≥ 0
    ///
    /// `progress` is the fraction of the run done (0 for validation batches).
    public func prepareBatch(text: UnsafeBufferPointer<UInt8>, batchSize: Int, seqLen: Int,
                             tokens: UnsafeMutableBufferPointer<Int32>,
                             targets: UnsafeMutableBufferPointer<Int32>,
                             lossWeights: UnsafeMutableBufferPointer<Float>,
                             api: UnsafePointer<hybrid_host_api>? = nil,
                             rng: OpaquePointer? = nil, progress: Float = 0) throws(PluginError) {
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
            api: api, rng: rng, progress: progress)
        var batch = hybrid_batch(
            header: PluginABI.header(for: hybrid_batch.self),
            tokens: tokens.baseAddress, targets: targets.baseAddress,
            loss_weights: lossWeights.baseAddress)
        try check(plugin.functions.pointee.prepare_batch!(state, &request, &batch,
                                                          errorBuffer.prepared()),
                  "prepare_batch")

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
}
