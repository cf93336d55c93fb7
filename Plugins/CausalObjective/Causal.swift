// The causal objective: every position t predicts byte t + 1 of its window, under a causal
// mask. B batch, T seq_len; a text window is T + 1 bytes.
import CHybridPlugin
import PluginSupport

@c(hybrid_objective_entry)
public func hybridObjectiveEntry(_ host: UnsafePointer<hybrid_host_info>?,
                                 _ out: UnsafeMutablePointer<UnsafePointer<hybrid_objective_descriptor>?>?,
                                 _ err: UnsafeMutablePointer<hybrid_error>?) -> hybrid_status {
    serve(Causal.self, host, out, err)
}

/// Keeps no state: everything it needs arrives with each call.
struct Causal: Objective {
    static let name = "causal", version = "1.0.0", summary = "next-byte prediction with causal attention"
    static let dataKind = HYBRID_DATA_TEXT, windowExtra: UInt32 = 1, sampleKinds = HYBRID_SAMPLES_CONTINUATION

    init?(_ info: hybrid_create_info, _ config: ConfigValues, _ err: ErrorBuffer) {}

    /// text [B, T + 1] → tokens = window[0..<T], targets = window[1...T], weights 1; all [B, T].
    func prepareBatch(_ request: hybrid_batch_request, _ batch: hybrid_batch, _ err: ErrorBuffer) -> hybrid_status {
        guard let text = request.text, let tokens = batch.tokens, let targets = batch.targets, let weights = batch.loss_weights
        else { return fail(err, "prepare_batch: a request or batch buffer is NULL") }
        let B = Int(request.batch_size), T = Int(request.seq_len), W = T + 1
        for b in 0..<B {
            let window = text + b * W
            let row = b * T
            for t in 0..<T {
                tokens[row + t] = Int32(window[t])
                targets[row + t] = Int32(window[t + 1])
                weights[row + t] = 1
            }
        }
        return HYBRID_OK
    }

    /// The shared byte model under a causal mask.
    func build(_ api: hybrid_host_api, _ graph: OpaquePointer?, _ info: hybrid_build_info,
               _ result: UnsafeMutablePointer<hybrid_build_result>, _ err: ErrorBuffer) -> hybrid_status {
        buildByteModel(api, graph, info, result, err, mask: HYBRID_MASK_CAUSAL)
    }

    /// Generates request.new_tokens bytes, one forward pass each over the last seq_len tokens.
    func sample(_ api: hybrid_host_api, _ sampler: OpaquePointer?, _ request: hybrid_sample_request, _ err: ErrorBuffer) -> hybrid_status {
        let seqLen = Int(request.seq_len)
        guard seqLen > 0 else { return fail(err, "sample: seq_len is \(seqLen); expected > 0") }
        guard let prompt = request.prompt, request.prompt_length > 0 else {
            return fail(err, "sample: the causal objective needs a prompt of at least one token")
        }
        var context = Array(UnsafeBufferPointer(start: prompt, count: Int(request.prompt_length)).suffix(seqLen))
        var logits = [Float](repeating: 0, count: Int(HYBRID_BYTE_VOCAB))
        for _ in 0..<max(Int(request.new_tokens), 0) {
            let status = logits.withUnsafeMutableBufferPointer { logits in
                api.sampler_forward(sampler, context, Int32(context.count), logits.baseAddress, err)
            }
            guard status == HYBRID_OK else { return status }
            let token = api.sampler_pick(sampler, logits, Int32(logits.count))
            api.sampler_emit(sampler, token)
            context.append(token)
            if context.count > seqLen { context.removeFirst() }
        }
        return HYBRID_OK
    }
}
