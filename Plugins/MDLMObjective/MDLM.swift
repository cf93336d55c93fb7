// Masked diffusion language modelling (MDLM, Sahoo et al. 2024; LLaDA, Nie et al. 2025): each
// window draws its own masking level t ∈ [min_level, 1] (stratified over the batch: window b of
// B draws from [b/B, (b+1)/B), so every batch spans the levels), masks each byte with
// probability t (the absorbing state: always [MASK], never a random or kept byte), and scores
// the masked bytes with weight 1/t, divided by the positions (the host's
// cross_entropy_per_row). That is the continuous-time ELBO of the linear schedule: the loss is
// an upper bound on the nats per byte, comparable with the causal objective's. Generation
// starts from all masks after the prompt and unmasks over K steps, each drawn through the
// host's picker: positions in random order (MDLM's reverse process, which the ELBO is of) or
// the most confident first (LLaDA's low-confidence remasking).
// B batch, T seq_len; a text window is T bytes.
import CHybridPlugin
import PluginSupport

@c(hybrid_objective_entry)
public func hybridObjectiveEntry(_ host: UnsafePointer<hybrid_host_info>?,
                                 _ out: UnsafeMutablePointer<UnsafePointer<hybrid_objective_descriptor>?>?,
                                 _ err: UnsafeMutablePointer<hybrid_error>?) -> hybrid_status {
    serve(MDLM.self, host, out, err)
}

struct MDLM: Objective {
    static let name = "mdlm", version = "1.0.0"
    static let summary = "masked diffusion: each window masked at its own level t, masked bytes weighted 1/t (an ELBO on nats per byte); generates by unmasking in K steps"
    static let dataKind = HYBRID_DATA_TEXT, windowExtra: UInt32 = 0, sampleKinds = HYBRID_SAMPLES_CONTINUATION | HYBRID_SAMPLES_INFILL
    static let keys: [ConfigKey] = [
        .number("min_level", HYBRID_CONFIG_FLOAT, "0.001", "the smallest masking level t a window draws (bounds the weight 1/t)", above: 0, below: 1),
        .choice("levels", ["stratified", "independent"], "stratified",
                "how a batch draws its levels: stratified (window b of B in [b/B, (b+1)/B)) or independent (each uniform)"),
        .number("sample_steps", HYBRID_CONFIG_INT, "32", "unmasking steps when a request asks for the default", atLeast: 1),
        .choice("unmask_order", ["random", "confident"], "random",
                "which masked positions a sampling step fixes: random (the reverse process the loss bounds) or confident (the likeliest first, as LLaDA)"),
    ]

    var minLevel: Float
    var stratified: Bool
    var sampleSteps: Int
    var confidentFirst: Bool

    init?(_ info: hybrid_create_info, _ config: ConfigValues, _ err: ErrorBuffer) {
        (minLevel, stratified, sampleSteps) = (Float(config.float("min_level")), config.string("levels") == "stratified", config.int("sample_steps"))
        confidentFirst = config.string("unmask_order") == "confident"
    }

    /// text [B, T] → targets = text; tokens = text with each byte of window b masked with
    /// probability t_b; weights 1/t_b on the masked bytes, 0 elsewhere.
    func prepareBatch(_ request: hybrid_batch_request, _ batch: hybrid_batch, _ err: ErrorBuffer) -> hybrid_status {
        guard let api = request.api?.pointee, let text = request.text, let tokens = batch.tokens, let targets = batch.targets,
              let weights = batch.loss_weights
        else { return fail(err, "prepare_batch: api or a batch buffer is NULL") }
        let B = Int(request.batch_size), T = Int(request.seq_len)
        let rng = request.rng
        for b in 0..<B {
            let u = api.rng_uniform(rng)
            let t = max(minLevel, stratified ? (Float(b) + u) / Float(B) : u)
            for i in (b * T)..<((b + 1) * T) {
                let byte = Int32(text[i])
                targets[i] = byte
                let masked = api.rng_uniform(rng) < t
                tokens[i] = masked ? HYBRID_TOKEN_MASK : byte
                weights[i] = masked ? 1 / t : 0
            }
        }
        return HYBRID_OK
    }

    /// The shared byte model under bidirectional attention; the loss divides by the positions.
    func build(_ api: hybrid_host_api, _ graph: OpaquePointer?, _ info: hybrid_build_info,
               _ result: UnsafeMutablePointer<hybrid_build_result>, _ err: ErrorBuffer) -> hybrid_status {
        buildByteModel(api, graph, info, result, err, mask: HYBRID_MASK_BIDIRECTIONAL, normalizedByRows: true)
    }

    /// Continues the prompt (new_tokens > 0) or fills its [MASK]s (new_tokens 0). A
    /// continuation fills the whole window after the prompt with masks, as training windows
    /// are full, and emits the first new_tokens of it. Over K steps (the request's steps, else
    /// sample_steps), step k runs the model over the window and fixes n_k masked positions (n_k
    /// spreads the masks evenly over the steps): n_k drawn at random, which is MDLM's reverse
    /// process from level k/K... to the next, or the n_k most confident; each byte is drawn
    /// through the host's picker, so temperature, top-k and top-p apply.
    func sample(_ api: hybrid_host_api, _ sampler: OpaquePointer?, _ request: hybrid_sample_request, _ err: ErrorBuffer) -> hybrid_status {
        guard let prompt = request.prompt, request.prompt_length > 0 else { return fail(err, "sample: the prompt is empty") }
        guard reaches(api.header.size, \hybrid_host_api.sampler_forward_all), let forwardAll = api.sampler_forward_all
        else { return fail(err, "sample: masked diffusion needs a host with plugin ABI 1.1 (sampler_forward_all)") }
        guard confidentFirst || request.rng != nil else { return fail(err, "sample: unmasking in random order needs the host's sampling stream (ABI 1.7)") }
        let seqLen = Int(request.seq_len), newTokens = Int(request.new_tokens)
        var tokens = Array(UnsafeBufferPointer(start: prompt, count: Int(request.prompt_length)))
        let start: Int
        if newTokens > 0 {
            guard newTokens < seqLen else {
                return fail(err, "sample: \(newTokens) new bytes leave no room for a prompt in the model's context of \(seqLen); ask for at most \(seqLen - 1)")
            }
            tokens = Array(tokens.suffix(seqLen - newTokens))
            start = tokens.count
            tokens += [Int32](repeating: HYBRID_TOKEN_MASK, count: seqLen - tokens.count)
        } else {
            guard tokens.count <= seqLen else {
                return fail(err, "sample: the text to fill has \(tokens.count) tokens; expected 1...\(seqLen) (the model's context)")
            }
            start = 0
        }
        var masked = tokens.indices.filter { tokens[$0] == HYBRID_TOKEN_MASK }
        guard !masked.isEmpty else { return fail(err, "sample: the text has no [MASK] to fill") }
        let steps = min(Int(request.steps) > 0 ? Int(request.steps) : sampleSteps, masked.count), total = masked.count
        let V = Int(HYBRID_BYTE_VOCAB)
        var logits = [Float](repeating: 0, count: tokens.count * V)
        for k in 0..<steps {
            let status = logits.withUnsafeMutableBufferPointer { forwardAll(sampler, tokens, Int32(tokens.count), $0.baseAddress, err) }
            guard status == HYBRID_OK else { return status }
            let count = (k + 1) * total / steps - k * total / steps
            let chosen: Set<Int>
            if confidentFirst {
                // Confidence of a position: the softmax probability of its best byte.
                let confidence = masked.map { topProbability(logits[($0 * V)..<(($0 + 1) * V)]) }
                chosen = Set(masked.indices.sorted { confidence[$0] > confidence[$1] }.prefix(count))
            } else {
                // A uniform draw of `count` of the masked positions (a partial Fisher-Yates shuffle).
                var order = Array(masked.indices)
                for j in 0..<count { order.swapAt(j, j + Int(api.rng_next(request.rng) % UInt64(order.count - j))) }
                chosen = Set(order.prefix(count))
            }
            for j in chosen {
                let i = masked[j]
                tokens[i] = logits.withUnsafeBufferPointer { api.sampler_pick(sampler, $0.baseAddress! + i * V, Int32(V)) }
            }
            masked = masked.indices.filter { !chosen.contains($0) }.map { masked[$0] }
        }
        let emitted = newTokens > 0 ? tokens[start..<(start + newTokens)] : tokens[...]
        for token in emitted { api.sampler_emit(sampler, token) }
        return HYBRID_OK
    }
}
