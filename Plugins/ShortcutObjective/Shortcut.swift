// Shortcut models (Frans et al. 2024, "One Step Diffusion via Shortcut Models"): one network,
// trained once with no teacher, that samples in 1, 2, 4 … M steps. Flow matching with the
// straight path from noise (t = 0) to the image (t = 1),
//   x_t = (1 − t) ε + t x0,   velocity v = x0 − ε,
// conditions the model on the step size h as well as t. Most rows of a batch learn the finest
// step, h = 1/M, by flow matching (target v); the rest learn a coarser step from two of the
// next finer one, through the model as it stands (self-consistency, no gradient through it):
//   s1 = f(x_t, t, h/2),  x' = x_t + (h/2) s1,  s2 = f(x', t + h/2, h/2),  target (s1 + s2) / 2
// with x' and the target clipped to [−4, 4] as the authors do. Both under one MSE over the
// patches. Sampling takes K Euler steps of h = 1/K from x ~ N(0, I): x += h f(x, t, h).
// The time input carries both: a sinusoidal embedding of 1000 t in its first d/2 columns and
// of 1000 j / log2 M in the other d/2, where j = log2(1/h) (0: one step of 1; log2 M: 1/M).
// B batch (images), R self-consistency rows, V = S·S·K values an image, L positions,
// F values a patch, d d_model, M base steps.
import CHybridPlugin
import PluginSupport
import Glibc

@c(hybrid_objective_entry)
public func hybridObjectiveEntry(_ host: UnsafePointer<hybrid_host_info>?,
                                 _ out: UnsafeMutablePointer<UnsafePointer<hybrid_objective_descriptor>?>?,
                                 _ err: UnsafeMutablePointer<hybrid_error>?) -> hybrid_status {
    serve(Shortcut.self, host, out, err)
}

struct Shortcut: Objective {
    static let name = "shortcut", version = "1.0.0"
    static let summary = "shortcut model: flow matching plus self-consistency on the step size, sampling in 1, 2, 4 … steps with no teacher"
    static let dataKind = HYBRID_DATA_IMAGES, windowExtra: UInt32 = 0, sampleKinds = HYBRID_SAMPLES_IMAGES
    static let keys = ImageModel.configKeys + [
        .number("base_steps", HYBRID_CONFIG_INT, "128", "M, a power of two: the finest step 1/M, which flow matching learns; every coarser power-of-two step is built from two of the next finer",
                atLeast: 2, atMost: 4096),
        .number("consistency_share", HYBRID_CONFIG_FLOAT, "0.25", "the share of a training batch's images given self-consistency targets (the model run twice on them, without gradient); the rest flow matching",
                atLeast: 0, below: 1),
        .number("sample_steps", HYBRID_CONFIG_INT, "1", "Euler steps when a request asks for the default: a power of two, at most base_steps", atLeast: 1),
    ]

    let model: ImageModel
    /// M and log2 M.
    let baseSteps: Int, levels: Int
    let consistencyShare: Double
    let sampleSteps: Int
    /// Bound on x' and the self-consistency target.
    static let clip: Float = 4

    init?(_ info: hybrid_create_info, _ config: ConfigValues, _ err: ErrorBuffer) {
        guard let model = ImageModel(info, err) else { return nil }
        let M = config.int("base_steps"), K = config.int("sample_steps")
        guard M.nonzeroBitCount == 1 else {
            _ = fail(err, "config base_steps is \(M); expected a power of two (2, 4, … 4096)")
            return nil
        }
        guard K.nonzeroBitCount == 1, K <= M else {
            _ = fail(err, "config sample_steps is \(K); expected a power of two at most base_steps (\(M))")
            return nil
        }
        (self.model, baseSteps, levels, consistencyShare, sampleSteps) = (model, M, M.trailingZeroBitCount, config.float("consistency_share"), K)
    }

    /// R for a batch of B: the share rounded, at least 1 when the share is above 0, leaving at
    /// least one flow-matching row.
    func consistencyRows(_ B: Int) -> Int {
        consistencyShare > 0 ? min(B - 1, max(1, Int((consistencyShare * Double(B)).rounded()))) : 0
    }

    /// time [d]: sinusoids of 1000 t (first half) and of 1000 j / log2 M (second half).
    func timeEmbedding(t: Double, level j: Int, into time: UnsafeMutablePointer<Float>) {
        let half = model.dModel / 2
        sinusoidalEmbedding(Float(1000 * t), dimension: half, into: time)
        sinusoidalEmbedding(Float(1000 * Double(j) / Double(levels)), dimension: half, into: time + half)
    }

    func build(_ api: hybrid_host_api, _ graph: OpaquePointer?, _ info: hybrid_build_info,
               _ result: UnsafeMutablePointer<hybrid_build_result>, _ err: ErrorBuffer) -> hybrid_status {
        guard model.dModel % 4 == 0 else {
            return fail(err, "build: d_model is \(model.dModel); the shortcut model's time input needs a multiple of 4 (two sinusoidal halves)")
        }
        let status = model.build(api, graph, info, result, err)
        guard status == HYBRID_OK, info.mode == HYBRID_BUILD_TRAIN else { return status }
        let R = consistencyRows(Int(info.batch_size))
        guard R > 0 else { return HYBRID_OK }
        guard reaches(result.pointee.header.size, \hybrid_build_result.own_model_batch) else {
            return fail(err, "build: self-consistency needs a host with plugin ABI 1.8 (its own model in prepare_batch); this host has 1.\(api.header.abi_minor) (or set consistency_share: 0)")
        }
        result.pointee.own_model_batch = Int32(R)
        return HYBRID_OK
    }

    /// images [B, S, S] → noisy = patches of x_t, time = (t, j) for each position, label (with
    /// classes) or caption, target [B, L, F] and weights (1 on the patches) [B·L]. Rows R...B−1
    /// flow-match at j = log2 M (t = i/M, i uniform; on validation batches every row, on the grid
    /// i_b = ⌊(2b + 1)M / 2B⌋); rows 0..<R get self-consistency targets at a uniform j < log2 M
    /// and t = i·2^−j, i uniform below 2^j.
    func prepareBatch(_ request: hybrid_batch_request, _ batch: hybrid_batch, _ err: ErrorBuffer) -> hybrid_status {
        guard let api = request.api?.pointee, let images = request.images else { return fail(err, "prepare_batch: api or the images are NULL") }
        let m = model, grid = m.grid
        if let problem = m.mismatch(side: Int(request.image_side), channels: ImageModel.channels(request)) {
            return fail(err, "prepare_batch: the batch holds \(problem)")
        }
        let B = Int(request.batch_size), V = grid.imageValues, L = m.length, F = grid.values, d = m.dModel, M = baseSteps
        let validation = request.is_validation != 0
        let R = validation ? 0 : consistencyRows(B)
        guard let inputs = m.batchInputs(batch, request, api, err) else { return HYBRID_FAILED }
        let (noisy, target, time, weights) = (inputs.noisy, inputs.target, inputs.time, inputs.weights)
        // xt, noise [B, S, S, K]; s1, x' [R, S, S, K]; output [R, L, F]; embedding [d].
        let memory = UnsafeMutablePointer<Float>.allocate(capacity: 2 * B * V + 2 * R * V + R * L * F + d)
        defer { memory.deallocate() }
        let xt = memory, noise = xt + B * V, s1 = noise + B * V, shifted = s1 + R * V, output = shifted + R * V, embedding = output + R * L * F
        var t = [Double](repeating: 0, count: B), level = [Int](repeating: levels, count: B)
        let rng = request.rng
        for b in 0..<B {
            if b < R {
                level[b] = Int(api.rng_next(rng) % UInt64(levels))
                t[b] = Double(api.rng_next(rng) % (1 << UInt64(level[b]))) / Double(1 << level[b])
            } else {
                t[b] = Double(validation ? (2 * b + 1) * M / (2 * B) : Int(api.rng_next(rng) % UInt64(M))) / Double(M)
            }
            fillNormal(noise + b * V, count: V, api, rng)
            let x0 = images + b * V, e = noise + b * V, x = xt + b * V, tb = Float(t[b])
            for k in 0..<V { x[k] = (1 - tb) * e[k] + tb * x0[k] }
        }
        /// Writes the model's inputs for rows 0..<n: x's images, each at its (t, j).
        func setInputs(_ x: UnsafePointer<Float>, rows n: Int, t: (Int) -> Double, level: (Int) -> Int) {
            noisy.update(repeating: 0, count: n * L * F)
            grid.patchify(x, into: noisy, images: n, leading: m.leading)
            for b in 0..<n {
                timeEmbedding(t: t(b), level: level(b), into: embedding)
                m.writeTime(embedding, into: time, image: b)
            }
        }
        if R > 0 {
            guard reaches(request.header.size, \hybrid_batch_request.own_model), let own = request.own_model, let run = api.sampler_run else {
                return fail(err, "prepare_batch: self-consistency needs the objective's own model (a host with plugin ABI 1.8 gives it; or set consistency_share: 0)")
            }
            let names = m.inputNames, values = inputs.runValues
            /// The model at rows 0..<R of the inputs, unpatchified into `into`.
            func predict(into out: UnsafeMutablePointer<Float>) -> hybrid_status {
                let status = run(own, names, values, Int32(names.count), output, err)
                if status == HYBRID_OK { grid.unpatchify(output, into: out, images: R, leading: m.leading) }
                return status
            }
            // Half steps h/2 = 2^−(j+1): s1 at (x_t, t), then s2 at (x', t + h/2).
            setInputs(xt, rows: R, t: { t[$0] }, level: { level[$0] + 1 })
            var status = predict(into: s1)
            guard status == HYBRID_OK else { return status }
            for b in 0..<R {
                let half = Float(1) / Float(2 << level[b]), x = xt + b * V, s = s1 + b * V, y = shifted + b * V
                for k in 0..<V { y[k] = min(Self.clip, max(-Self.clip, x[k] + half * s[k])) }
            }
            setInputs(shifted, rows: R, t: { t[$0] + 1 / Double(2 << level[$0]) }, level: { level[$0] + 1 })
            status = predict(into: shifted)   // shifted now holds s2
            guard status == HYBRID_OK else { return status }
            for k in 0..<(R * V) { s1[k] = min(Self.clip, max(-Self.clip, (s1[k] + shifted[k]) / 2)) }
        }
        // Flow-matching targets v = x0 − ε on rows R..<B; rows 0..<R keep (s1 + s2) / 2 in s1.
        for b in R..<B {
            let x0 = images + b * V, e = noise + b * V
            for k in 0..<V { e[k] = x0[k] - e[k] }
        }
        target.update(repeating: 0, count: B * L * F)
        if R > 0 { grid.patchify(s1, into: target, images: R, leading: m.leading) }
        grid.patchify(noise + R * V, into: target + R * L * F, images: B - R, leading: m.leading)
        setInputs(xt, rows: B, t: { t[$0] }, level: { level[$0] })
        for b in 0..<B { m.writePatchWeights(1, into: weights, image: b) }
        return HYBRID_OK
    }

    /// Draws request.images images in K Euler steps of h = 1/K (K a power of two ≤ M; the
    /// config's sample_steps by default) from x ~ N(0, I) at t = 0, clipped to [−1, 1] at the
    /// end; labels, captions and guidance as ImageSampling gives them.
    func sample(_ api: hybrid_host_api, _ sampler: OpaquePointer?, _ request: hybrid_sample_request, _ err: ErrorBuffer) -> hybrid_status {
        let K = request.steps == 0 ? sampleSteps : Int(request.steps)
        guard K.nonzeroBitCount == 1, K <= baseSteps else {
            return fail(err, "sample: \(K) steps asked; the shortcut model takes a power of two at most base_steps (1, 2, 4 … \(baseSteps))")
        }
        if reaches(request.header.size, \hybrid_sample_request.eta) {
            guard request.sampler == HYBRID_SAMPLER_DEFAULT, request.eta == 0 else {
                return fail(err, "sample: the shortcut model takes its own Euler steps; DDPM, DDIM and eta are the denoising objective's")
            }
        }
        guard let walk = ImageSampling(model, api, sampler, request, err) else { return HYBRID_FAILED }
        let count = walk.images * model.grid.imageValues, h = Float(1) / Float(K), j = K.trailingZeroBitCount
        let x = walk.x, v = walk.predicted
        for i in 0..<K {
            timeEmbedding(t: Double(i) / Double(K), level: j, into: walk.embedding)
            let status = walk.predict(err)
            guard status == HYBRID_OK else { return status }
            for k in 0..<count { x[k] += h * v[k] }
        }
        for k in 0..<count { x[k] = min(1, max(-1, x[k])) }
        walk.emitImages()
        return HYBRID_OK
    }
}
