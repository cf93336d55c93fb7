// The masked objective (BERT/RoBERTa style): a `rate` of the positions of each window is
// chosen afresh every time the window is drawn (dynamic masking); of those, 80% become
// [MASK], 10% a random byte and 10% stay as they were; the model sees the whole window
// (bidirectional attention) and is scored only on the chosen positions. The rate may move over
// the run (`rate_schedule`: linear or cosine from `rate` to `rate_end`).
// B batch, T seq_len; a text window is T bytes.
import CHybridPlugin
import PluginSupport

@c(hybrid_objective_entry)
public func hybridObjectiveEntry(_ host: UnsafePointer<hybrid_host_info>?,
                                 _ out: UnsafeMutablePointer<UnsafePointer<hybrid_objective_descriptor>?>?,
                                 _ err: UnsafeMutablePointer<hybrid_error>?) -> hybrid_status {
    serve(Masked.self, host, out, err)
}

let scheduleNames: KeyValuePairs<String, hybrid_schedule_kind> = [
    "constant": HYBRID_SCHEDULE_CONSTANT, "linear": HYBRID_SCHEDULE_LINEAR, "cosine": HYBRID_SCHEDULE_COSINE,
]

/// The resolved config, for as long as the plugin state lives.
struct Masked: Objective {
    static let name = "masked", version = "1.0.0"
    static let summary = "masked-byte prediction (15% chosen: 80% [MASK], 10% random, 10% kept), bidirectional attention"
    static let dataKind = HYBRID_DATA_TEXT, windowExtra: UInt32 = 0, sampleKinds = HYBRID_SAMPLES_INFILL
    static let keys: [ConfigKey] = [
        .number("rate", HYBRID_CONFIG_FLOAT, "0.15", "fraction of positions chosen for prediction", above: 0, atMost: 1),
        .number("mask_fraction", HYBRID_CONFIG_FLOAT, "0.8", "of the chosen positions, the fraction replaced by [MASK]", atLeast: 0, atMost: 1),
        .number("random_fraction", HYBRID_CONFIG_FLOAT, "0.1", "of the chosen positions, the fraction replaced by a random byte", atLeast: 0, atMost: 1),
        .choice("rate_schedule", scheduleNames.map(\.key), "constant", "how the rate moves over the run: constant, linear or cosine"),
        .number("rate_end", HYBRID_CONFIG_FLOAT, "0.15", "the rate at the end of the run (linear and cosine schedules)", above: 0, atMost: 1),
    ]

    var rate: Float
    var rateEnd: Float
    var rateSchedule: hybrid_schedule_kind
    var maskFraction: Float
    var randomFraction: Float

    /// The host has checked each value against its key's rule; what is left spans two keys.
    init?(_ info: hybrid_create_info, _ config: ConfigValues, _ err: ErrorBuffer) {
        let scheduleName = config.string("rate_schedule")
        guard let schedule = scheduleNames.first(where: { $0.key == scheduleName })?.value else {
            _ = fail(err, "config rate_schedule is \"\(scheduleName)\"; expected constant, linear or cosine")
            return nil
        }
        (rate, rateEnd, rateSchedule) = (Float(config.float("rate")), Float(config.float("rate_end")), schedule)
        (maskFraction, randomFraction) = (Float(config.float("mask_fraction")), Float(config.float("random_fraction")))
        guard maskFraction + randomFraction <= 1 else {
            _ = fail(err, "config mask_fraction (\(maskFraction)) and random_fraction (\(randomFraction)) add up to more than 1")
            return nil
        }
    }

    /// text [B, T] → targets = text; tokens = text with the chosen positions corrupted;
    /// weights 1 on chosen positions, 0 elsewhere.
    func prepareBatch(_ request: hybrid_batch_request, _ batch: hybrid_batch, _ err: ErrorBuffer) -> hybrid_status {
        guard let api = request.api?.pointee, let text = request.text, let tokens = batch.tokens, let targets = batch.targets,
              let weights = batch.loss_weights
        else { return fail(err, "prepare_batch: api or a batch buffer is NULL") }
        let n = Int(request.batch_size) * Int(request.seq_len)
        let rng = request.rng
        let rate = hybrid_schedule(rateSchedule, self.rate, rateEnd, request.progress)
        for i in 0..<n {
            let byte = Int32(text[i])
            targets[i] = byte
            tokens[i] = byte
            weights[i] = 0
            guard api.rng_uniform(rng) < rate else { continue }
            weights[i] = 1
            let r = api.rng_uniform(rng)
            if r < maskFraction {
                tokens[i] = HYBRID_TOKEN_MASK
            } else if r < maskFraction + randomFraction {
                tokens[i] = Int32(api.rng_next(rng) % UInt64(HYBRID_BYTE_VOCAB))
            }
        }
        return HYBRID_OK
    }

    /// The shared byte model under bidirectional attention; the loss counts the chosen
    /// positions only (their weights are 1).
    func build(_ api: hybrid_host_api, _ graph: OpaquePointer?, _ info: hybrid_build_info,
               _ result: UnsafeMutablePointer<hybrid_build_result>, _ err: ErrorBuffer) -> hybrid_status {
        buildByteModel(api, graph, info, result, err, mask: HYBRID_MASK_BIDIRECTIONAL)
    }

    /// Fills every [MASK] of the prompt by iterative most-confident unmasking: run the model over
    /// the whole sequence, find the masked position whose best byte is most probable, fix that
    /// position (drawn through the host's picker, so temperature and top-k apply), repeat; then
    /// emit the filled sequence.
    func sample(_ api: hybrid_host_api, _ sampler: OpaquePointer?, _ request: hybrid_sample_request, _ err: ErrorBuffer) -> hybrid_status {
        guard let prompt = request.prompt else { return fail(err, "sample: the prompt is NULL") }
        guard reaches(api.header.size, \hybrid_host_api.sampler_forward_all), let forwardAll = api.sampler_forward_all
        else { return fail(err, "sample: infilling needs a host with plugin ABI 1.1 (sampler_forward_all)") }
        let count = Int(request.prompt_length)
        guard count > 0, count <= Int(request.seq_len) else {
            return fail(err, "sample: the text to fill has \(count) tokens; expected 1...\(request.seq_len) (the model's context)")
        }
        var tokens = Array(UnsafeBufferPointer(start: prompt, count: count))
        var masked = tokens.indices.filter { tokens[$0] == HYBRID_TOKEN_MASK }
        guard !masked.isEmpty else { return fail(err, "sample: the text has no [MASK] to fill") }
        let V = Int(HYBRID_BYTE_VOCAB)
        var logits = [Float](repeating: 0, count: count * V)
        while !masked.isEmpty {
            let status = logits.withUnsafeMutableBufferPointer { forwardAll(sampler, tokens, Int32(count), $0.baseAddress, err) }
            guard status == HYBRID_OK else { return status }
            // Confidence of a position: the softmax probability of its best byte.
            var best = 0, bestConfidence = -Float.infinity
            for (k, i) in masked.enumerated() {
                let confidence = topProbability(logits[(i * V)..<((i + 1) * V)])
                if confidence > bestConfidence { (best, bestConfidence) = (k, confidence) }
            }
            let i = masked.remove(at: best)
            tokens[i] = logits.withUnsafeBufferPointer { api.sampler_pick(sampler, $0.baseAddress! + i * V, Int32(V)) }
        }
        for token in tokens { api.sampler_emit(sampler, token) }
        return HYBRID_OK
    }
}
