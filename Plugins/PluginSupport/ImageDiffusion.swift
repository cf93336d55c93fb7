// The model the diffusion objectives (denoise, distill) train and sample: an ImageModel whose
// time input is the embedding of a noise level t of the DDPM schedule, sampled by walking the
// schedule from pure noise with ancestral DDPM or DDIM.
// N images, V = S·S·K values an image, T timesteps.
import CHybridPlugin

/// An ImageModel and the DDPM schedule its sampler walks; the image model's properties read
/// through (`diffusion.grid`).
@dynamicMemberLookup
public struct ImageDiffusion: Sendable {
    public var image: ImageModel
    public var schedule: DDPMSchedule
    public var prediction: DDPMPrediction
    public var sampleSteps: Int

    /// The image model's keys with the schedule's after image_channels, as an objective
    /// declares them (it may add its own).
    public static let configKeys: [ConfigKey] = Array(ImageModel.configKeys.prefix(3)) + [
        .choice("schedule", DDPMSchedule.Kind.allCases.map(\.rawValue), "linear",
                "noise schedule: linear (betas 1e-4...0.02) or cosine (Nichol & Dhariwal)"),
        .choice("prediction", DDPMPrediction.allCases.map(\.rawValue), "epsilon", "what the model predicts: epsilon (the noise) or v"),
        .number("timesteps", HYBRID_CONFIG_INT, "1000", "noise levels T of the forward process", atLeast: 2),
    ] + ImageModel.configKeys.dropFirst(3)

    /// The model the resolved config describes (the keys of `configKeys`, found by name),
    /// sampling in `sampleSteps` by default; nil after writing the error.
    public init?(_ info: hybrid_create_info, sampleSteps: Int, _ err: UnsafeMutablePointer<hybrid_error>?) {
        guard let image = ImageModel(info, err) else { return nil }
        let config = ConfigValues(info)
        let scheduleName = config.string("schedule"), predictionName = config.string("prediction")
        guard let kind = DDPMSchedule.Kind(rawValue: scheduleName) else {
            _ = fail(err, "config schedule is \"\(scheduleName)\"; expected linear or cosine")
            return nil
        }
        guard let prediction = DDPMPrediction(rawValue: predictionName) else {
            _ = fail(err, "config prediction is \"\(predictionName)\"; expected epsilon or v")
            return nil
        }
        let T = config.int("timesteps")
        guard (1...T).contains(sampleSteps) else {
            _ = fail(err, "sampling in \(sampleSteps) steps; expected 1...\(T) (timesteps)")
            return nil
        }
        (self.image, self.schedule, self.prediction, self.sampleSteps) = (image, DDPMSchedule(kind, steps: T), prediction, sampleSteps)
    }

    public subscript<Value>(dynamicMember path: KeyPath<ImageModel, Value>) -> Value { image[keyPath: path] }

    /// Draws request.images images: x_{T−1} ~ N(0, I), then one sampler step per level on the
    /// model's prediction at (x_t, t) — ancestral DDPM through all T levels, or DDIM (ABI 1.2)
    /// through N trailing levels — down to the clipped x0 prediction, in [−1, 1], which is emitted.
    /// The default sampler is DDPM at N = T and DDIM below; labels, captions and guidance are
    /// ImageSampling's.
    public func sample(_ api: hybrid_host_api, _ sampler: OpaquePointer?, _ request: hybrid_sample_request,
                       _ err: ErrorBuffer) -> hybrid_status {
        let schedule = self.schedule, T = schedule.steps
        let steps = request.steps == 0 ? sampleSteps : Int(request.steps)
        guard (1...T).contains(steps) else { return fail(err, "sample: \(steps) steps asked; expected 1...\(T) (timesteps)") }
        let hasNewFields = reaches(request.header.size, \hybrid_sample_request.eta)
        let asked = hasNewFields ? request.sampler : HYBRID_SAMPLER_DEFAULT
        let ddim = asked == HYBRID_SAMPLER_DDIM || (asked == HYBRID_SAMPLER_DEFAULT && steps < T)
        guard ddim || asked == HYBRID_SAMPLER_DEFAULT || asked == HYBRID_SAMPLER_DDPM else {
            return fail(err, "sample: unknown sampler \(asked.rawValue); expected DDPM or DDIM")
        }
        guard ddim || steps == T else {
            return fail(err, "sample: the ancestral DDPM sampler takes all \(T) steps; \(steps) asked (DDIM takes any number)")
        }
        let eta = ddim ? Double(request.eta) : 1
        guard eta.isFinite, eta >= 0 else { return fail(err, "sample: eta is \(eta); expected a finite value ≥ 0") }
        let levels = ddim ? schedule.trailingTimesteps(steps) : Array((0..<T).reversed())
        guard let walk = ImageSampling(image, api, sampler, request, err) else { return HYBRID_FAILED }
        let count = walk.images * image.grid.imageValues
        let noise = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { noise.deallocate() }
        let x = walk.x, predicted = walk.predicted
        for (i, t) in levels.enumerated() {
            timestepEmbedding(t, dimension: image.dModel, into: walk.embedding)
            let status = walk.predict(err)
            guard status == HYBRID_OK else { return status }
            if eta > 0 { fillNormal(noise, count: count, api, request.rng) }
            if ddim {
                schedule.ddimStep(x, modelOutput: predicted, t: t, previous: i + 1 < levels.count ? levels[i + 1] : -1,
                                  eta: eta, noise: noise, prediction: prediction, count: count)
            } else {
                schedule.ancestralStep(x, modelOutput: predicted, t: t, noise: noise, prediction: prediction, count: count)
            }
        }
        walk.emitImages()
        return HYBRID_OK
    }
}

/// An objective whose model is an `ImageDiffusion` (denoise, distill): its build and sample
/// are the model's.
public protocol ImageDiffusionObjective: Objective {
    var model: ImageDiffusion { get }
}

extension ImageDiffusionObjective {
    public func build(_ api: hybrid_host_api, _ graph: OpaquePointer?, _ info: hybrid_build_info,
                      _ result: UnsafeMutablePointer<hybrid_build_result>, _ err: ErrorBuffer) -> hybrid_status {
        model.image.build(api, graph, info, result, err)
    }

    public func sample(_ api: hybrid_host_api, _ sampler: OpaquePointer?, _ request: hybrid_sample_request, _ err: ErrorBuffer) -> hybrid_status {
        model.sample(api, sampler, request, err)
    }
}
