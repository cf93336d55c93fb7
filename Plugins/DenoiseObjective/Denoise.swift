// The denoising objective (DDPM, Ho et al. 2020): every image of a batch gets a noise level t
// and Gaussian noise ε; the model (ImageDiffusion: patches, a timestep MLP, the shared
// backbone, a patch head) sees x_t and predicts ε (or v) for every patch under an MSE loss.
// Class-conditional with config classes > 0, the label replaced by the null label with
// probability label_drop in training, so one model samples with and without it (classifier-free
// guidance). Sampling runs ancestral DDPM through all T levels or DDIM in fewer.
// B batch (images), S image side, K channels, V = S·S·K values an image, P patches, F values a
// patch, L positions, d d_model, T timesteps.
import CHybridPlugin
import PluginSupport
import Glibc

@c(hybrid_objective_entry)
public func hybridObjectiveEntry(_ host: UnsafePointer<hybrid_host_info>?,
                                 _ out: UnsafeMutablePointer<UnsafePointer<hybrid_objective_descriptor>?>?,
                                 _ err: UnsafeMutablePointer<hybrid_error>?) -> hybrid_status {
    serve(Denoise.self, host, out, err)
}

struct Denoise: ImageDiffusionObjective {
    static let name = "denoise", version = "1.0.0"
    static let summary = "DDPM denoising of image patches (epsilon or v prediction), bidirectional attention"
    static let dataKind = HYBRID_DATA_IMAGES, windowExtra: UInt32 = 0, sampleKinds = HYBRID_SAMPLES_IMAGES
    static let keys = ImageDiffusion.configKeys + [
        .number("sample_steps", HYBRID_CONFIG_INT, "1000", "sampler steps when a request asks for the default: timesteps runs ancestral DDPM, fewer run DDIM",
                atLeast: 1),
    ]

    let model: ImageDiffusion

    init?(_ info: hybrid_create_info, _ config: ConfigValues, _ err: ErrorBuffer) {
        guard let model = ImageDiffusion(info, sampleSteps: config.int("sample_steps"), err) else { return nil }
        self.model = model
    }

    /// images [B, S, S] → for each image a level t (uniform in 0..<T; on validation batches the
    /// grid t_b = (2b + 1)T / 2B, so held-out MSE covers every level evenly) and noise ε ~ N(0, I);
    /// noisy = patches of x_t [B, L, F], target = patches of ε or v [B, L, F],
    /// time = embedding(t) for each position [B, L, d], weights [B·L] (1 on patches, 0 on the
    /// label token); with classes, label = one-hot [B, L, C + 1] (the null label with probability
    /// label_drop on training batches; never on validation ones).
    func prepareBatch(_ request: hybrid_batch_request, _ batch: hybrid_batch, _ err: ErrorBuffer) -> hybrid_status {
        guard let api = request.api?.pointee, let images = request.images else { return fail(err, "prepare_batch: api or the images are NULL") }
        let s = model
        guard reaches(batch.header.size, \hybrid_batch.host), batch.input_buffer != nil else {
            return fail(err, "prepare_batch: image batches need a host with plugin ABI 1.1 (batch input buffers)")
        }
        let grid = s.grid, schedule = s.schedule
        if let problem = s.image.mismatch(side: Int(request.image_side), channels: ImageModel.channels(request)) {
            return fail(err, "prepare_batch: the batch holds \(problem)")
        }
        let B = Int(request.batch_size), V = grid.imageValues, L = s.length, F = grid.values
        let d = s.dModel, T = schedule.steps
        guard let inputs = s.image.batchInputs(batch, request, api, err) else { return HYBRID_FAILED }
        let (noisy, target, time, weights) = (inputs.noisy, inputs.target, inputs.time, inputs.weights)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * V + d)
        defer { scratch.deallocate() }
        let noise = scratch, image = scratch + V, embedding = scratch + 2 * V
        let rng = request.rng
        for b in 0..<B {
            let t = request.is_validation != 0 ? (2 * b + 1) * T / (2 * B) : Int(api.rng_next(rng) % UInt64(T))
            let x0 = images + b * V
            let noisyRows = noisy + b * L * F, targetRows = target + b * L * F
            noisyRows.update(repeating: 0, count: s.leading * F)
            targetRows.update(repeating: 0, count: s.leading * F)
            fillNormal(noise, count: V, api, rng)
            schedule.noised(x0, noise, t: t, into: image, count: V)
            grid.patchify(image, into: noisyRows, leading: s.leading)
            switch s.prediction {
            case .epsilon:
                grid.patchify(noise, into: targetRows, leading: s.leading)
            case .v:
                schedule.vTarget(x0, noise, t: t, into: image, count: V)
                grid.patchify(image, into: targetRows, leading: s.leading)
            }
            timestepEmbedding(t, dimension: d, into: embedding)
            s.image.writeTime(embedding, into: time, image: b)
            s.image.writePatchWeights(1, into: weights, image: b)
        }
        return HYBRID_OK
    }
}
