// The model every image objective trains and samples: images cut into patches (after a label
// token when class-conditional: a caption before its image, attended as in Transfusion, the
// label causal and the image block bidirectional), an embedding of the time input (a noise
// level, and for the shortcut model a step size) through a small MLP added to every position,
// the shared backbone, and a linear head per patch. ImageSampling is what every image sampler
// does around its step rule: the request checked, x drawn from N(0, I), the model's prediction
// at x with classifier-free guidance between the label (or caption) and the null one.
// With config caption_length Lc > 0 the image follows its caption's bytes instead (text-to-image
// in one sequence, Transfusion style): the caption, embedded by the shared byte table, read
// causally, the patches one bidirectional block after it; the caption is dropped (all PAD) with
// probability caption_drop for guidance, and text_weight adds the next-byte loss on the caption
// through the shared byte head.
// B batch (images), S image side, K channels, p patch side, P = (S/p)² patches, F = p²·K values
// a patch, V = S·S·K values an image, L = P (+ 1 with a label token, + Lc with a caption)
// positions, C classes, d d_model.
import CHybridPlugin
import Glibc

/// The model an image objective trains and samples: images cut into patches (after a label
/// token when class-conditional, or a caption), a time MLP, the shared backbone, a patch head.
/// The denoising, distillation and shortcut objectives share it.
public struct ImageModel: Sendable {
    public var grid: PatchGrid
    public var dModel: Int
    /// C; 0 for an unconditional model (no label token).
    public var classes: Int
    public var labelDrop: Float
    /// Lc; 0 for no caption.
    public var captionLength: Int
    public var captionDrop: Float
    public var textWeight: Float
    /// Row and column embeddings on the patches.
    public var gridPositions: Bool

    /// The config keys of the model, as an objective declares them (it may add its own).
    public static let configKeys: [ConfigKey] = [
        .number("patch", HYBRID_CONFIG_INT, "2", "side of the square patches an image is cut into; divides image_side", atLeast: 1),
        .number("image_side", HYBRID_CONFIG_INT, "8", "side of the square images the data holds", atLeast: 1),
        .number("image_channels", HYBRID_CONFIG_INT, "1", "channels of the images: 1 (grey) or 3 (RGB); a patch holds patch² · channels values",
                atLeast: 1, atMost: 3),
        .number("classes", HYBRID_CONFIG_INT, "0", "class labels (10 for digits): a label token in front of the patches, for class-conditional sampling; 0 trains unconditionally",
                atLeast: 0),
        .number("label_drop", HYBRID_CONFIG_FLOAT, "0.1", "with classes: the chance a training label is replaced by the null label, for classifier-free guidance",
                atLeast: 0, atMost: 1),
        .number("caption_length", HYBRID_CONFIG_INT, "0", "bytes of caption in front of the image (text-to-image, Transfusion style): the data's captions, read causally; 0: none",
                atLeast: 0, atMost: 4096),
        .number("caption_drop", HYBRID_CONFIG_FLOAT, "0.1", "with caption_length: the chance a training caption is replaced by the empty caption, for classifier-free guidance",
                atLeast: 0, atMost: 1),
        .number("text_weight", HYBRID_CONFIG_FLOAT, "0", "with caption_length: the weight of the next-byte loss on the caption (the shared byte head) beside the image's MSE",
                atLeast: 0),
        ConfigKey("grid_positions", HYBRID_CONFIG_BOOL, "false", "add a learned embedding of each patch's row and one of its column (2-D positions) beside the backbone's positions"),
    ]

    /// The model the resolved config describes (the keys of `configKeys`, found by name); nil
    /// after writing the error.
    public init?(_ info: hybrid_create_info, _ err: UnsafeMutablePointer<hybrid_error>?) {
        let config = ConfigValues(info)
        let patch = config.int("patch"), side = config.int("image_side"), channels = config.int("image_channels")
        guard channels == 1 || channels == 3 else {
            _ = fail(err, "config image_channels is \(channels); expected 1 (grey) or 3 (RGB)")
            return nil
        }
        guard let grid = PatchGrid(side: side, patch: patch, channels: channels) else {
            _ = fail(err, "config patch is \(patch) and image_side \(side); expected positive sides, the patch dividing the image")
            return nil
        }
        let classes = config.int("classes"), labelDrop = config.float("label_drop")
        let d = Int(info.d_model)
        guard d > 0, d % 2 == 0 else {
            _ = fail(err, "d_model is \(d); the sinusoidal time embedding needs an even d_model")
            return nil
        }
        let captionLength = config.int("caption_length"), captionDrop = config.float("caption_drop"), textWeight = config.float("text_weight")
        guard classes == 0 || captionLength == 0 else {
            _ = fail(err, "config classes is \(classes) and caption_length \(captionLength); an image follows a label token or a caption, not both")
            return nil
        }
        (self.grid, self.dModel, self.classes, self.labelDrop) = (grid, d, classes, Float(labelDrop))
        (self.captionLength, self.captionDrop, self.textWeight) = (captionLength, Float(captionDrop), Float(textWeight))
        gridPositions = config.bool("grid_positions")
    }

    /// Positions in front of the patches: the label token or the caption, if any.
    public var leading: Int { classes > 0 ? 1 : captionLength }
    /// L.
    public var length: Int { leading + grid.count }
    /// The names of the inference graph's inputs, in the order sampler_run takes their values:
    /// noisy, time, and label when class-conditional or caption when captioned.
    public var inputNames: [UnsafePointer<CChar>?] {
        (classes > 0 ? sampleInputNamesWithLabel : captionLength > 0 ? sampleInputNamesWithCaption : sampleInputNames)
            + (gridPositions ? [gridInputName] : [])
    }
    /// Width of the grid-position input: a row one-hot then a column one-hot.
    public var gridWidth: Int { 2 * grid.perRow }

    /// grid [N, L, 2n]: patch (i, j)'s row holds 1 at i and at n + j; the leading rows stay 0.
    public func writeGrid(into positions: UnsafeMutablePointer<Float>, images N: Int) {
        let n = grid.perRow, W = gridWidth
        positions.update(repeating: 0, count: N * length * W)
        for b in 0..<N {
            for k in 0..<grid.count {
                let row = positions + (b * length + leading + k) * W
                row[k / n] = 1
                row[n + k % n] = 1
            }
        }
    }
    /// The inputs `build` makes, as prepare_batch fills them.
    public struct BatchInputs {
        /// [B, L, F].
        public let noisy, target: UnsafeMutablePointer<Float>
        /// [B, L, d].
        public let time: UnsafeMutablePointer<Float>
        /// [B·L].
        public let weights: UnsafeMutablePointer<Float>
        /// With classes, the one-hot labels [B, L, C + 1], already written.
        public let label: UnsafeMutablePointer<Float>?
        /// With a caption, its byte ids [B, L] (PAD after the caption and on the patches), already
        /// written.
        public var caption: UnsafeMutablePointer<Int32>? = nil
        /// With grid positions, the row and column one-hots [B, L, 2n], already written.
        public var positions: UnsafeMutablePointer<Float>? = nil

        /// The values sampler_run takes for the inference graph, in `inputNames` order.
        public var runValues: [UnsafePointer<Float>?] {
            var values: [UnsafePointer<Float>?] = [UnsafePointer(noisy), UnsafePointer(time)]
            if let label { values.append(UnsafePointer(label)) }
            if let caption { values.append(UnsafeRawPointer(caption).assumingMemoryBound(to: Float.self)) }
            if let positions { values.append(UnsafePointer(positions)) }
            return values
        }
    }

    /// The batch's input buffers, checked against B; with classes the labels are written from
    /// the request's (each replaced by the null label with probability label_drop on training
    /// batches, never on validation ones). nil after writing the error.
    public func batchInputs(_ batch: hybrid_batch, _ request: hybrid_batch_request, _ api: hybrid_host_api,
                            _ err: UnsafeMutablePointer<hybrid_error>?) -> BatchInputs? {
        let B = Int(request.batch_size), L = length, F = grid.values, C = classes
        guard let noisy = inputBuffer(batch, "noisy", expected: B * L * F, shape: "[B, L, F]", err),
              let target = inputBuffer(batch, "target", expected: B * L * F, shape: "[B, L, F]", err),
              let time = inputBuffer(batch, "time", expected: B * L * dModel, shape: "[B, L, d_model]", err),
              let weights = inputBuffer(batch, "weights", expected: B * L, shape: "[B·L]", err)
        else { return nil }
        var positions: UnsafeMutablePointer<Float>?
        if gridPositions {
            guard let p = inputBuffer(batch, "grid", expected: B * L * gridWidth, shape: "[B, L, 2n]", err) else { return nil }
            writeGrid(into: p, images: B)
            positions = p
        }
        if captionLength > 0 {
            guard let ids = captionInputs(batch, request, api, err) else { return nil }
            return BatchInputs(noisy: noisy, target: target, time: time, weights: weights, label: nil, caption: ids, positions: positions)
        }
        guard C > 0 else { return BatchInputs(noisy: noisy, target: target, time: time, weights: weights, label: nil, positions: positions) }
        guard let labels = request.labels,
              let oneHot = inputBuffer(batch, "label", expected: B * L * labelWidth, shape: "[B, L, classes + 1]", err)
        else { return nil }
        for b in 0..<B where !(0..<Int32(C)).contains(labels[b]) {
            _ = fail(err, "prepare_batch: an image is labelled \(labels[b]); config classes is \(C), so labels are 0...\(C - 1)")
            return nil
        }
        let drop = request.is_validation == 0 ? labelDrop : 0
        writeLabels({ b in drop > 0 && api.rng_uniform(request.rng) < drop ? C : Int(labels[b]) }, into: oneHot, images: B)
        return BatchInputs(noisy: noisy, target: target, time: time, weights: weights, label: oneHot, positions: positions)
    }

    /// nil when images of `side` and `channels` are this model's; else what they are against
    /// what the config says, for the error.
    public func mismatch(side: Int, channels: Int) -> String? {
        guard side != grid.side || channels != grid.channels else { return nil }
        return "\(side)×\(side) images of \(channels) channel\(channels == 1 ? "" : "s"); config image_side is \(grid.side) "
            + "and image_channels \(grid.channels)"
    }

    /// The channels of a batch's images: the request's from an ABI 1.3 host, else 1.
    public static func channels(_ request: hybrid_batch_request) -> Int {
        reaches(request.header.size, \hybrid_batch_request.image_channels) ? Int(request.image_channels) : 1
    }

    /// The caption ids [B, L] from the request's captions (each dropped to the empty caption with
    /// probability caption_drop on training batches), and with text_weight the next-byte
    /// targets and weights [B·L]: position t < length − 1 of a kept caption predicts byte t + 1.
    func captionInputs(_ batch: hybrid_batch, _ request: hybrid_batch_request, _ api: hybrid_host_api,
                       _ err: UnsafeMutablePointer<hybrid_error>?) -> UnsafeMutablePointer<Int32>? {
        let B = Int(request.batch_size), L = length, Lc = captionLength
        guard reaches(request.header.size, \hybrid_batch_request.caption_width), let bytes = request.captions,
              let lengths = request.caption_lengths
        else {
            _ = fail(err, "prepare_batch: config caption_length is \(Lc), but the images have no captions (a folder's metadata.jsonl gives them; an ABI 1.3 host passes them)")
            return nil
        }
        guard let raw = inputBuffer(batch, "caption", expected: B * L, shape: "[B, L] int32", err) else { return nil }
        let ids = UnsafeMutableRawPointer(raw).assumingMemoryBound(to: Int32.self)
        var targets: UnsafeMutablePointer<Int32>?, textWeights: UnsafeMutablePointer<Float>?
        if textWeight > 0 {
            guard let t = inputBuffer(batch, "caption_targets", expected: B * L, shape: "[B·L] int32", err),
                  let w = inputBuffer(batch, "caption_weights", expected: B * L, shape: "[B·L]", err)
            else { return nil }
            targets = UnsafeMutableRawPointer(t).assumingMemoryBound(to: Int32.self)
            textWeights = w
        }
        let width = Int(request.caption_width), drop = request.is_validation == 0 ? captionDrop : 0
        for b in 0..<B {
            let n = Int(lengths[b])
            guard n <= Lc else {
                let text = String(decoding: UnsafeBufferPointer(start: bytes + b * width, count: min(n, width)), as: UTF8.self)
                _ = fail(err, "prepare_batch: a caption of \(n) bytes (\"\(text)\"); config caption_length is \(Lc) (raise it, or shorten the captions)")
                return nil
            }
            let kept = !(drop > 0 && api.rng_uniform(request.rng) < drop)
            writeCaption(kept ? UnsafeBufferPointer(start: bytes + b * width, count: n) : UnsafeBufferPointer(start: nil, count: 0), into: ids + b * L)
            if let targets, let textWeights {
                for t in 0..<L {
                    let predicts = kept && t + 1 < n
                    targets[b * L + t] = predicts ? Int32(bytes[b * width + t + 1]) : 0
                    textWeights[b * L + t] = predicts ? 1 : 0
                }
            }
        }
        return ids
    }

    /// One image's ids [L]: the caption's bytes, then PAD (the rest of the caption and the patches).
    public func writeCaption(_ caption: UnsafeBufferPointer<UInt8>, into ids: UnsafeMutablePointer<Int32>) {
        ids.update(repeating: Int32(HYBRID_TOKEN_PAD), count: length)
        for (t, byte) in caption.enumerated() { ids[t] = Int32(byte) }
    }

    /// time [d] on every position of image b: time [·, L, d] holds the same embedding throughout.
    public func writeTime(_ embedding: UnsafePointer<Float>, into time: UnsafeMutablePointer<Float>, image b: Int) {
        for k in 0..<length { (time + (b * length + k) * dModel).update(from: embedding, count: dModel) }
    }

    /// weights [·, L] of image b: 0 on the leading positions (label or caption), w on the patches.
    public func writePatchWeights(_ w: Float, into weights: UnsafeMutablePointer<Float>, image b: Int) {
        (weights + b * length).update(repeating: 0, count: leading)
        (weights + b * length + leading).update(repeating: w, count: grid.count)
    }

    /// Width of the one-hot label input: the C classes and the null label (index C).
    public var labelWidth: Int { classes + 1 }

    /// one-hot [N, L, C + 1]: row 0 of image b holds labels[b], or the null label where labels
    /// is nil; patch rows stay zero, so the label embedding touches only the label token.
    public func writeLabels(_ labels: (Int) -> Int, into oneHot: UnsafeMutablePointer<Float>, images N: Int) {
        oneHot.update(repeating: 0, count: N * length * labelWidth)
        for b in 0..<N { oneHot[b * length * labelWidth + labels(b)] = 1 }
    }

    /// noisy [B, L, F] → linear "patch_in" (+ time [B, L, d] → linear "t_mlp1" → GELU → linear
    /// "t_mlp2") (+ label [B, L, C + 1] → linear "label_emb", no bias) → backbone (the host adds
    /// the positions; bidirectional, or with a label token the Transfusion tail-block mask) →
    /// linear "patch_out" → prediction [B, L, F]; training adds mse(prediction, target, weights).
    public func build(_ api: hybrid_host_api, _ graph: OpaquePointer?, _ info: hybrid_build_info,
                      _ result: UnsafeMutablePointer<hybrid_build_result>, _ err: ErrorBuffer) -> hybrid_status {
        let s = self
        guard reaches(api.header.size, \hybrid_host_api.input), let input = api.input, let mse = api.mse else {
            return fail(err, "build: the denoising objective needs a host with plugin ABI 1.1 (input, mse)")
        }
        guard s.classes == 0 || api.header.abi_minor >= 2 else {
            return fail(err, "build: config classes needs a host with plugin ABI 1.2 (the tail-block mask); this host has 1.\(api.header.abi_minor)")
        }
        guard s.captionLength == 0 || reaches(api.header.size, \hybrid_host_api.input_int32), s.captionLength == 0 || api.input_int32 != nil else {
            return fail(err, "build: config caption_length needs a host with plugin ABI 1.3 (int32 inputs); this host has 1.\(api.header.abi_minor)")
        }
        guard Int(info.d_model) == s.dModel else {
            return fail(err, "build: d_model is \(info.d_model); the objective was created for \(s.dModel)")
        }
        let B = Int64(info.batch_size), L = Int64(s.length), F = Int64(s.grid.values), d = Int64(info.d_model)
        let noisy = input(graph, "noisy", 3, [B, L, F])
        let time = input(graph, "time", 3, [B, L, d])
        let timeEmbedding = api.linear(graph, api.gelu(graph, api.linear(graph, time, "t_mlp1", d, 1)), "t_mlp2", d, 1)
        var x = api.add(graph, api.linear(graph, noisy, "patch_in", d, 1), timeEmbedding)
        if s.gridPositions {
            x = api.add(graph, x, api.linear(graph, input(graph, "grid", 3, [B, L, Int64(s.gridWidth)]), "patch_grid", d, 0))
        }
        if s.classes > 0 {
            let label = input(graph, "label", 3, [B, L, Int64(s.labelWidth)])
            x = api.add(graph, x, api.linear(graph, label, "label_emb", d, 0))
        }
        if s.captionLength > 0 {
            // The caption's bytes (PAD on the patches) through the byte table the text objectives share.
            let caption = api.input_int32(graph, "caption", 2, [B, L])
            x = api.add(graph, x, api.token_embedding(graph, caption))
        }
        // The patches (and a label token, which only the image reads) are the image's positions;
        // a 1.3 host has no backbone_image, and no image experts to route them to.
        let (mask, prefix) = s.leading > 0 ? (HYBRID_MASK_TAIL_BLOCK, Int32(s.leading)) : (HYBRID_MASK_BIDIRECTIONAL, 0)
        let backboneImage = reaches(api.header.size, \hybrid_host_api.backbone_image) ? api.backbone_image : nil
        let h = backboneImage.map { $0(graph, x, mask, prefix, Int32(s.captionLength)) } ?? api.backbone(graph, x, mask, prefix)
        let prediction = api.linear(graph, h, "patch_out", F, 1)
        result.pointee.output = prediction
        if info.mode == HYBRID_BUILD_TRAIN {
            let target = input(graph, "target", 3, [B, L, F])
            let weights = input(graph, "weights", 1, [B * L])
            var loss = mse(graph, prediction, target, weights)
            if s.captionLength > 0 && s.textWeight > 0 {
                // Next-byte loss on the caption through the shared byte head (Transfusion's λ).
                let logits = api.linear(graph, h, "head", Int64(HYBRID_BYTE_VOCAB), 0)
                let text = api.cross_entropy(graph, logits, api.input_int32(graph, "caption_targets", 1, [B * L]),
                                             input(graph, "caption_weights", 1, [B * L]))
                loss = api.add(graph, loss, api.scale(graph, text, s.textWeight))
            }
            result.pointee.loss = loss
        }
        return api.graph_status(graph, err)
    }
}

/// What every image sampler does around its step rule: the request checked against the model
/// (side, channels, count, labels or captions, guidance), x ~ N(0, I) [N, S, S, K] drawn from
/// the request's stream, and the model's prediction at x for one time embedding — with request
/// labels or captions the model sees them, and a guidance w ≠ 1 runs it twice, with and
/// without, for uncond + w (cond − uncond). A class, for its buffers' lifetime.
public final class ImageSampling {
    public let model: ImageModel
    /// N.
    public let images: Int
    /// [N, S, S, K]: the images the step rule walks, and the model's prediction at them.
    public let x, predicted: UnsafeMutablePointer<Float>
    /// [d]: the step rule writes the time embedding here before each `predict`.
    public let embedding: UnsafeMutablePointer<Float>
    private let sampler: OpaquePointer?
    /// With sampler_run and sampler_emit_image (checked by init).
    private let api: hybrid_host_api
    private let guidance: Float, guided: Bool
    private let names: [UnsafePointer<CChar>?]
    /// In `names` order: noisy, time, the label or caption (conditional, or null), the grid.
    private var conditional: [UnsafePointer<Float>?] = [], unconditional: [UnsafePointer<Float>?] = []
    private let memory: UnsafeMutablePointer<Float>, captionIds: UnsafeMutablePointer<Int32>, positions: UnsafeMutablePointer<Float>
    /// noisy, output, unguided [N, L, F]; time [N, L, d].
    private let noisy, output, unguided, time: UnsafeMutablePointer<Float>

    /// nil after writing the error.
    public init?(_ model: ImageModel, _ api: hybrid_host_api, _ sampler: OpaquePointer?, _ request: hybrid_sample_request, _ err: ErrorBuffer) {
        guard reaches(api.header.size, \hybrid_host_api.sampler_emit_image), api.sampler_run != nil, api.sampler_emit_image != nil else {
            _ = fail(err, "sample: drawing images needs a host with plugin ABI 1.1 (sampler_run, sampler_emit_image)")
            return nil
        }
        let s = model
        let channels = reaches(request.header.size, \hybrid_sample_request.image_channels) ? Int(request.image_channels) : 1
        if let problem = s.mismatch(side: Int(request.image_side), channels: channels) {
            _ = fail(err, "sample: the request is for \(problem)")
            return nil
        }
        let N = Int(request.images)
        guard N > 0 else {
            _ = fail(err, "sample: \(N) images asked; expected at least 1")
            return nil
        }
        let hasNewFields = reaches(request.header.size, \hybrid_sample_request.eta)
        let labels = hasNewFields ? request.labels : nil
        let guidance = hasNewFields ? request.guidance : 1
        if let labels {
            guard s.classes > 0 else {
                _ = fail(err, "sample: labels asked, but this model was trained without them (config classes 0)")
                return nil
            }
            for b in 0..<N where !(0..<Int32(s.classes)).contains(labels[b]) {
                _ = fail(err, "sample: label \(labels[b]) asked; the model knows classes 0...\(s.classes - 1)")
                return nil
            }
        }
        let hasCaptions = reaches(request.header.size, \hybrid_sample_request.caption_width)
        let captions = hasCaptions ? request.captions : nil, captionLengths = hasCaptions ? request.caption_lengths : nil
        if captions != nil {
            guard s.captionLength > 0 else {
                _ = fail(err, "sample: a caption asked, but this model was trained without captions (config caption_length 0)")
                return nil
            }
            guard let captionLengths else {
                _ = fail(err, "sample: captions without their lengths")
                return nil
            }
            for b in 0..<N where Int(captionLengths[b]) > s.captionLength {
                _ = fail(err, "sample: a caption of \(captionLengths[b]) bytes asked; the model reads captions of at most \(s.captionLength) (config caption_length)")
                return nil
            }
        }
        if labels != nil || captions != nil {
            guard guidance.isFinite, guidance >= 0 else {
                _ = fail(err, "sample: guidance is \(guidance); expected a finite scale ≥ 0")
                return nil
            }
        }
        (self.model, self.images, self.sampler, self.api, self.guidance) = (model, N, sampler, api, guidance)
        guided = (labels != nil || captions != nil) && guidance != 1
        names = s.inputNames
        // The caption ids: each image's caption (or the empty caption), and all-empty for guidance.
        let L = s.length, F = s.grid.values, d = s.dModel, count = N * s.grid.imageValues
        captionIds = .allocate(capacity: s.captionLength > 0 ? 2 * N * L : 1)
        if s.captionLength > 0 {
            let width = Int(request.caption_width)
            for b in 0..<N {
                let caption = captions.map { UnsafeBufferPointer(start: $0 + b * width, count: Int(captionLengths![b])) }
                s.writeCaption(caption ?? UnsafeBufferPointer(start: nil, count: 0), into: captionIds + b * L)
                s.writeCaption(UnsafeBufferPointer(start: nil, count: 0), into: captionIds + (N + b) * L)
            }
        }
        let rows = N * L * F, timeCount = N * L * d, labelCount = s.classes > 0 ? N * L * s.labelWidth : 0
        memory = .allocate(capacity: 2 * count + 3 * rows + timeCount + 2 * labelCount + d)
        x = memory
        predicted = x + count
        noisy = predicted + count
        output = noisy + rows
        unguided = output + rows
        time = unguided + rows
        let label = time + timeCount, nullLabel = label + labelCount
        embedding = nullLabel + labelCount
        noisy.update(repeating: 0, count: rows)   // the leading rows stay zero
        if s.classes > 0 {
            s.writeLabels({ b in labels.map { Int($0[b]) } ?? s.classes }, into: label, images: N)
            s.writeLabels({ _ in s.classes }, into: nullLabel, images: N)
        }
        positions = .allocate(capacity: s.gridPositions ? N * L * s.gridWidth : 1)
        if s.gridPositions { s.writeGrid(into: positions, images: N) }
        // An int32 input's values go to sampler_run through the same float pointer, bit for bit.
        let captionPointer = UnsafeRawPointer(captionIds)
        conditional = [UnsafePointer(noisy), UnsafePointer(time)]
        unconditional = conditional
        if s.leading > 0 {
            conditional.append(s.captionLength > 0 ? captionPointer.assumingMemoryBound(to: Float.self) : UnsafePointer(label))
            unconditional.append(s.captionLength > 0 ? (captionPointer + 4 * N * L).assumingMemoryBound(to: Float.self) : UnsafePointer(nullLabel))
        }
        if s.gridPositions {
            conditional.append(UnsafePointer(positions))
            unconditional.append(UnsafePointer(positions))
        }
        fillNormal(x, count: count, api, request.rng)
    }

    deinit {
        memory.deallocate()
        captionIds.deallocate()
        positions.deallocate()
    }

    /// predicted = the model's (guided) output at x, with `embedding` on every position.
    public func predict(_ err: ErrorBuffer) -> hybrid_status {
        let s = model, N = images, rows = N * s.length * s.grid.values
        s.grid.patchify(x, into: noisy, images: N, leading: s.leading)
        for b in 0..<N { s.writeTime(embedding, into: time, image: b) }
        let run = api.sampler_run!
        var status = run(sampler, names, conditional, Int32(names.count), output, err)
        guard status == HYBRID_OK else { return status }
        if guided {
            status = run(sampler, names, unconditional, Int32(names.count), unguided, err)
            guard status == HYBRID_OK else { return status }
            for i in 0..<rows { output[i] = unguided[i] + guidance * (output[i] - unguided[i]) }
        }
        s.grid.unpatchify(output, into: predicted, images: N, leading: s.leading)
        return HYBRID_OK
    }

    /// Emits each of x's images.
    public func emitImages() {
        for b in 0..<images { api.sampler_emit_image!(sampler, x + b * model.grid.imageValues) }
    }
}

/// The inputs sampler_run fills, in the order of its values.
private nonisolated(unsafe) let sampleInputNames: [UnsafePointer<CChar>?] = [permanent("noisy"), permanent("time")]
private nonisolated(unsafe) let sampleInputNamesWithLabel: [UnsafePointer<CChar>?] = sampleInputNames + [permanent("label")]
private nonisolated(unsafe) let sampleInputNamesWithCaption: [UnsafePointer<CChar>?] = sampleInputNames + [permanent("caption")]
private nonisolated(unsafe) let gridInputName: UnsafePointer<CChar>? = permanent("grid")

/// The host's buffer for input `name`, checked to hold `expected` values; nil after writing
/// the error.
public func inputBuffer(_ batch: hybrid_batch, _ name: String, expected: Int, shape: String,
                 _ err: UnsafeMutablePointer<hybrid_error>?) -> UnsafeMutablePointer<Float>? {
    var count: Int64 = 0
    guard let buffer = batch.input_buffer(batch.host, name, &count) else {
        _ = fail(err, "prepare_batch: the host has no input \"\(name)\" (build makes it)")
        return nil
    }
    guard count == Int64(expected) else {
        _ = fail(err, "prepare_batch: input \"\(name)\" holds \(count) values; expected \(expected) (\(shape))")
        return nil
    }
    return buffer
}

/// `count` draws from N(0, 1) off the host's stream (Box–Muller, both values of a pair used).
public func fillNormal(_ values: UnsafeMutablePointer<Float>, count: Int, _ api: hybrid_host_api, _ rng: OpaquePointer?) {
    let uniform = api.rng_uniform!
    var i = 0
    while i < count {
        let radius = (-2 * log(1 - Double(uniform(rng)))).squareRoot()   // 1 − u ∈ (0, 1]: log is finite
        let angle = 2 * Double.pi * Double(uniform(rng))
        values[i] = Float(radius * cos(angle))
        if i + 1 < count { values[i + 1] = Float(radius * sin(angle)) }
        i += 2
    }
}
