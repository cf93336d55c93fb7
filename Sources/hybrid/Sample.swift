import ArgumentParser
import CHybridPlugin
import Foundation
import HybridPlugins
import HybridRecipe
import HybridEval
import HybridRun
import HybridTrain

struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Continue text, fill in masked bytes, or draw images from a checkpoint.")

    @Option(help: "A checkpoint written by `hybrid train` (.safetensors).")
    var checkpoint: String

    @Option(help: "The text to continue.")
    var prompt: String?

    @Option(help: ArgumentHelp("Text to fill in: each [MASK] is one byte to fill, e.g. \"To be, or [MASK][MASK][MASK] to be\".", valueName: "text"))
    var infill: String?

    @Option(parsing: .unconditional, help: "How many bytes to generate.")
    var tokens = 200

    @Option(parsing: .unconditional, help: "Softmax temperature; 0 picks the most likely byte.")
    var temperature: Float = 0.8

    @Option(parsing: .unconditional, help: "Sample among the k most likely bytes (0: all).")
    var topK = 40

    @Option(parsing: .unconditional, help: "Seed of the sampling stream.")
    var seed: UInt64 = 1

    @Option(parsing: .unconditional, help: "Text: nucleus sampling, the smallest set of likeliest bytes holding this much probability (1: all).")
    var topP: Float = 1

    @Option(help: "Text: stop once the generated text ends with this (repeatable); it is not printed.")
    var stop: [String] = []

    @Flag(help: "Text: print bytes as they are generated (otherwise all at the end).")
    var stream = false

    @Flag(help: "Text: run the whole window for every new byte instead of one step over the key/value cache (slower; for comparison).")
    var noKVCache = false

    @Option(help: "Run on cpu, vulkan or auto (default: the device of the recipe the checkpoint was trained with).")
    var device: Recipe.Device?

    @Option(help: "The objective to sample with (default: the first that can).")
    var objective: String?

    @Option(parsing: .unconditional, help: "Draw this many images with an image objective (e.g. denoise) instead of text.")
    var images: Int?

    @Option(parsing: .unconditional, help: "Images: sampler steps (default: the objective's own, e.g. 1000 DDPM steps, or a distilled student's count). Text: a masked-diffusion objective's unmasking steps (mdlm; default its sample_steps).")
    var steps: Int?

    @Option(help: "Images: ddpm (ancestral, all training levels) or ddim (any step count, trailing spacing); default: ddpm at the full count, ddim below.")
    var sampler: ImageSamplerKind?

    @Option(parsing: .unconditional, help: "Images, DDIM: noise scale η (0: deterministic).")
    var eta: Float = 0

    @Option(help: "Images: where to write the PNG grid.")
    var out = "samples.png"

    @Option(parsing: .unconditional, help: "Images: the side of the square images to draw (default: the data.image_size the model was trained with).")
    var imageSide: Int?

    @Option(help: ArgumentHelp("Images: class labels to draw, cycled over the images: one (7), a list (1,4,7) or a range (0-9). Needs a model trained with labels (denoise config classes).", valueName: "labels"))
    var label: String?

    @Option(name: .customLong("caption"), parsing: .singleValue,
            help: ArgumentHelp("Images: the caption to draw (repeatable: cycled over the images, one grid column each). Needs a model trained with captions (denoise config caption_length).", valueName: "text"))
    var captions: [String] = []

    @Option(parsing: .unconditional, help: "Images: classifier-free guidance scale w with --label or --caption (1: plain conditional; larger: more like the condition).")
    var guidance: Float = 1

    func validate() throws {
        guard tokens > 0 else { throw ValidationError("--tokens must be at least 1, got \(tokens)") }
        guard temperature >= 0, temperature.isFinite else { throw ValidationError("--temperature must be ≥ 0, got \(temperature)") }
        guard topK >= 0 else { throw ValidationError("--top-k must be ≥ 0, got \(topK)") }
        guard topP > 0, topP <= 1 else { throw ValidationError("--top-p must be in (0, 1], got \(topP)") }
        guard stop.allSatisfy({ !$0.isEmpty }) else { throw ValidationError("--stop must not be empty") }
        guard [prompt != nil, infill != nil, images != nil].filter({ $0 }).count == 1 else {
            throw ValidationError("give exactly one of --prompt (continue text), --infill (fill in [MASK]s) or --images N (draw images)")
        }
        if let images { guard images > 0 else { throw ValidationError("--images must be at least 1, got \(images)") } }
        if let imageSide { guard imageSide > 0 else { throw ValidationError("--image-side must be at least 1, got \(imageSide)") } }
        if let steps { guard steps >= 1 else { throw ValidationError("--steps must be at least 1, got \(steps) (leave it out for the objective's default)") } }
        guard prompt?.isEmpty != true, infill?.isEmpty != true else { throw ValidationError("the text must not be empty") }
        guard eta.isFinite, eta >= 0 else { throw ValidationError("--eta must be a finite value ≥ 0, got \(eta)") }
        if sampler != nil || eta != 0 { guard images != nil else { throw ValidationError("--sampler and --eta apply to images (--images N)") } }
        guard guidance.isFinite, guidance >= 0 else { throw ValidationError("--guidance must be a finite scale ≥ 0, got \(guidance)") }
        if label != nil || guidance != 1 || !captions.isEmpty {
            guard images != nil else { throw ValidationError("--label, --caption and --guidance apply to images (--images N)") }
            guard label != nil || !captions.isEmpty else { throw ValidationError("--guidance needs --label or --caption (the condition to guide towards)") }
            guard label == nil || captions.isEmpty else { throw ValidationError("give --label or --caption, not both") }
        }
        guard captions.allSatisfy({ !$0.isEmpty }) else { throw ValidationError("--caption must not be empty") }
        if let label { _ = try Self.labels(label) }
    }

    /// "7" → [7], "1,4,7" → [1, 4, 7], "0-9" → [0, 1, …, 9] (items of a list may be ranges).
    static func labels(_ text: String) throws -> [Int32] {
        var labels: [Int32] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = item.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).map { Int32($0) }
            guard bounds.allSatisfy({ $0 != nil && $0! >= 0 }), let low = bounds.first!, let high = bounds.last!, low <= high else {
                throw ValidationError("--label \"\(text)\": \"\(item)\" is not a class number (7) or an ascending range (0-9)")
            }
            labels += Array(low...high)
        }
        return labels
    }

    private func drawImages(_ model: CheckpointModel, count: Int) throws {
        let (name, sampler) = try model.imageSampler(objective: objective, count: count)
        printError("drawing \(count) images with \(name) from \(checkpoint) (step \(model.step))")
        let started = ContinuousClock.now
        // A cycled label list sets the grid's columns, so each column holds one class.
        let cycle = try label.map(Self.labels) ?? []
        let labels = cycle.isEmpty ? nil : (0..<count).map { cycle[$0 % cycle.count] }
        let captionList = captions.isEmpty ? nil : (0..<count).map { captions[$0 % captions.count] }
        let side = imageSide ?? model.recipe.data.imageSize, channels = model.recipe.data.imageChannels
        let request = ImageRequest(steps: steps ?? 0, side: side, channels: channels, labels: labels, captions: captionList, guidance: guidance,
                                   sampler: self.sampler?.abiValue ?? HYBRID_SAMPLER_DEFAULT, eta: eta)
        let pixels = try sampler.generate(request, seed: seed)
        let elapsed = ContinuousClock.now - started
        let conditions = max(cycle.count, captions.count)
        let columns = conditions > 1 && conditions <= count ? conditions : min(count, max(1, Int(Double(count).squareRoot().rounded(.up))))
        try PNG.grid(images: pixels, side: side, channels: channels, columns: columns, scale: 4, to: out)
        say("wrote \(out): \(count) images in \(elapsed.formatted(.units(allowed: [.seconds, .milliseconds], width: .narrow)))")
    }

    /// Bytes of `text`, each "[MASK]" one HYBRID_TOKEN_MASK.
    static func tokens(_ text: String) -> [Int32] {
        let marker = Array("[MASK]".utf8)
        let bytes = Array(text.utf8)
        var ids: [Int32] = []
        var i = 0
        while i < bytes.count {
            if bytes[i...].starts(with: marker) {
                ids.append(HYBRID_TOKEN_MASK)
                i += marker.count
            } else {
                ids.append(Int32(bytes[i]))
                i += 1
            }
        }
        return ids
    }

    func run() throws {
        try reportingFailures {
            let model = try CheckpointModel(path: checkpoint, device: device, log: { printError($0) })
            if let images { return try drawImages(model, count: images) }
            let contextLength = model.recipe.model.seqLen
            let infillIDs = infill.map(Self.tokens)
            if let ids = infillIDs, ids.count > contextLength {
                throw TrainError("--infill text is \(ids.count) bytes; the model reads at most \(contextLength)")
            }
            // An infilling graph is exactly as long as the text: bidirectional attention
            // would otherwise see padding the model never trained on.
            let (name, sampler) = try model.textSampler(objective: objective, infilling: infillIDs != nil, seqLen: infillIDs?.count,
                                                        settings: .init(temperature: temperature, topK: topK, topP: topP, seed: seed),
                                                        kvCache: !noKVCache)
            if let ids = infillIDs {
                printError("filling \(ids.filter { $0 == HYBRID_TOKEN_MASK }.count) masked bytes with \(name) from \(checkpoint) (step \(model.step))")
                try sampler.generate(prompt: ids, count: 0, steps: steps ?? 0) { printText([$0]) }
            } else {
                let ids = Array(prompt!.utf8.suffix(model.recipe.model.seqLen)).map(Int32.init)
                printError("sampling \(tokens) bytes with \(name) from \(checkpoint) (step \(model.step))"
                    + (sampler.usesKVCache ? ", one step per byte over a key/value cache" : ", the whole window per byte"))
                printText(ids)
                var text: [Int32] = []
                try sampler.generate(prompt: ids, count: tokens, steps: steps ?? 0, stop: stop) { stream ? printText([$0]) : text.append($0) }
                printText(text)
            }
            say("")
        }
    }
}

/// `--sampler`: the image samplers of the plugin ABI.
enum ImageSamplerKind: String, ExpressibleByArgument, CaseIterable {
    case ddpm, ddim

    var abiValue: hybrid_image_sampler { self == .ddpm ? HYBRID_SAMPLER_DDPM : HYBRID_SAMPLER_DDIM }
}
