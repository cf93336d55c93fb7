// Progressive distillation (Salimans & Ho 2022), one stage: a student that samples in N/2 DDIM
// steps learns to match two DDIM steps (η = 0) of its frozen teacher, which samples in N. For an
// image x0, noise ε and a student level t (trailing spacing; teacher levels t, t', t''):
//   x_t = α_t x0 + σ_t ε                       (α = √ᾱ, σ = √(1 − ᾱ))
//   x_t'  = DDIM(teacher(x_t, t), t → t'),  x_t'' = DDIM(teacher(x_t', t'), t' → t'')
//   x̃0 = (x_t'' − (σ_t''/σ_t) x_t) / (α_t'' − (σ_t''/σ_t) α_t)   (one step t → t'' lands there;
//                                                                   at t'' = −1, x̃0 = x_t'')
//   target ṽ = (α_t x_t − x̃0) / σ_t            (the v-parameterisation: x0 = α_t x_t − σ_t v)
//   loss = Σ w_t ‖v̂ − ṽ‖² / Σ w_t,  w_t = max(α_t², σ_t²)
// since ‖x̂0 − x̃0‖² = σ_t² ‖v̂ − ṽ‖², the weight is truncated SNR, max(SNR_t, 1), in x-space.
// The teacher runs through the host (request->teacher: this objective's own inference graph over
// the teacher checkpoint's weights), so the student and the teacher share ImageDiffusion.
// B batch, S image side, K channels, V = S·S·K values an image, L positions, F values a patch,
// d d_model.
import CHybridPlugin
import PluginSupport
import Glibc

@c(hybrid_objective_entry)
public func hybridObjectiveEntry(_ host: UnsafePointer<hybrid_host_info>?,
                                 _ out: UnsafeMutablePointer<UnsafePointer<hybrid_objective_descriptor>?>?,
                                 _ err: UnsafeMutablePointer<hybrid_error>?) -> hybrid_status {
    serve(Distill.self, host, out, err)
}

struct Distill: ImageDiffusionObjective {
    static let name = "distill", version = "1.0.0"
    static let summary = "progressive distillation: a student matching two DDIM steps of its frozen teacher in one"
    static let dataKind = HYBRID_DATA_IMAGES, windowExtra: UInt32 = 0, sampleKinds = HYBRID_SAMPLES_IMAGES
    static let keys = ImageDiffusion.configKeys.map { key in
        key.name == "prediction" ? .choice(key.name, key.choices, "v", "what the student predicts: v (as in progressive distillation) or epsilon") : key
    } + [
        .number("teacher_steps", HYBRID_CONFIG_INT, "8", "the teacher's DDIM steps N; the student learns to take N/2 (even, at most timesteps)", atLeast: 2),
        .choice("teacher_prediction", DDPMPrediction.allCases.map(\.rawValue), "v", "what the teacher checkpoint predicts: epsilon or v"),
    ]

    /// The student; samples in teacherSteps / 2 by default.
    let model: ImageDiffusion
    let teacherSteps: Int
    let teacherPrediction: DDPMPrediction

    init?(_ info: hybrid_create_info, _ config: ConfigValues, _ err: ErrorBuffer) {
        let N = config.int("teacher_steps")
        guard N % 2 == 0 else {
            _ = fail(err, "config teacher_steps is \(N); expected an even count ≥ 2")
            return nil
        }
        guard let model = ImageDiffusion(info, sampleSteps: N / 2, err) else { return nil }
        guard N <= model.schedule.steps else {
            _ = fail(err, "config teacher_steps is \(N); expected at most timesteps (\(model.schedule.steps))")
            return nil
        }
        guard let teacherPrediction = DDPMPrediction(rawValue: config.string("teacher_prediction")) else {
            _ = fail(err, "config teacher_prediction is \"\(config.string("teacher_prediction"))\"; expected epsilon or v")
            return nil
        }
        (self.model, self.teacherSteps, self.teacherPrediction) = (model, N, teacherPrediction)
    }

    /// images [B, S, S] → noisy = patches of x_t, time = embedding(t), label (with classes),
    /// target = patches of ṽ [B, L, F] and weights w_t on every patch row [B·L]. Student levels are
    /// uniform on training batches and cycle through all N/2 on validation ones.
    func prepareBatch(_ request: hybrid_batch_request, _ batch: hybrid_batch, _ err: ErrorBuffer) -> hybrid_status {
        guard let api = request.api?.pointee, let images = request.images else { return fail(err, "prepare_batch: api or the images are NULL") }
        let s = self
        guard reaches(request.header.size, \hybrid_batch_request.teacher), let teacher = request.teacher,
              let run = api.sampler_run
        else { return fail(err, "prepare_batch: distillation needs a teacher: give the objective a teacher checkpoint in the recipe (teacher: FILE)") }
        let m = s.model, grid = m.grid, schedule = m.schedule
        if let problem = m.image.mismatch(side: Int(request.image_side), channels: ImageModel.channels(request)) {
            return fail(err, "prepare_batch: the batch holds \(problem)")
        }
        let B = Int(request.batch_size), V = grid.imageValues, L = m.length, F = grid.values, d = m.dModel
        guard let inputs = m.image.batchInputs(batch, request, api, err) else { return HYBRID_FAILED }
        let (noisy, target, time, weights) = (inputs.noisy, inputs.target, inputs.time, inputs.weights)
        let names = m.inputNames
        let values = inputs.runValues
        let levels = schedule.trailingTimesteps(s.teacherSteps), studentSteps = s.teacherSteps / 2
        let memory = UnsafeMutablePointer<Float>.allocate(capacity: 3 * B * V + B * L * F + d)
        defer { memory.deallocate() }
        // xt, x (the teacher's walk), noise [B, S, S, K]; output [B, L, F]; embedding [d].
        let xt = memory, x = xt + B * V, noise = x + B * V, output = noise + B * V, embedding = output + B * L * F
        var path = [Int](repeating: 0, count: 3 * B)   // image b's levels t, t', t'' at 3b... (−1: x0)
        for b in 0..<B {
            let i = request.is_validation != 0 ? b % studentSteps : Int(api.rng_next(request.rng) % UInt64(studentSteps))
            (path[3 * b], path[3 * b + 1], path[3 * b + 2]) = (levels[2 * i], levels[2 * i + 1], 2 * i + 2 < levels.count ? levels[2 * i + 2] : -1)
            fillNormal(noise + b * V, count: V, api, request.rng)
            schedule.noised(images + b * V, noise + b * V, t: path[3 * b], into: xt + b * V, count: V)
        }
        x.update(from: xt, count: B * V)
        /// Writes the model's inputs for x at each image's level path[3 * b + k].
        func setInputs(_ k: Int) {
            noisy.update(repeating: 0, count: B * L * F)
            grid.patchify(x, into: noisy, images: B, leading: m.leading)
            for b in 0..<B {
                timestepEmbedding(path[3 * b + k], dimension: d, into: embedding)
                m.image.writeTime(embedding, into: time, image: b)
            }
        }
        // Two teacher DDIM steps, t → t' → t''.
        for k in 0..<2 {
            setInputs(k)
            let status = run(teacher, names, values, Int32(names.count), output, err)
            guard status == HYBRID_OK else { return status }
            grid.unpatchify(output, into: noise, images: B, leading: m.leading)   // noise now holds the teacher's output
            for b in 0..<B {
                schedule.ddimStep(x + b * V, modelOutput: noise + b * V, t: path[3 * b + k], previous: path[3 * b + k + 1], eta: 0,
                                  noise: nil, prediction: s.teacherPrediction, count: V)
            }
        }
        // The student's target at (x_t, t): x holds x_t'' and becomes ṽ, image by image.
        for b in 0..<B {
            let t = path[3 * b], end = path[3 * b + 2]
            let at = schedule.alphaBar[t].squareRoot(), st = (1 - schedule.alphaBar[t]).squareRoot()
            let ae = end >= 0 ? schedule.alphaBar[end].squareRoot() : 1, se = end >= 0 ? (1 - schedule.alphaBar[end]).squareRoot() : 0
            let ratio = se / st
            let image = x + b * V, start = xt + b * V
            for j in 0..<V {
                let x0 = (Double(image[j]) - ratio * Double(start[j])) / (ae - ratio * at)
                image[j] = Float((at * Double(start[j]) - x0) / st)
            }
            m.image.writePatchWeights(Float(max(at * at, st * st)), into: weights, image: b)
        }
        target.update(repeating: 0, count: B * L * F)
        grid.patchify(x, into: target, images: B, leading: m.leading)
        // The student's input: x_t at t.
        x.update(from: xt, count: B * V)
        setInputs(0)
        return HYBRID_OK
    }
}
