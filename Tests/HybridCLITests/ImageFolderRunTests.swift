import Foundation
import HybridEval
import HybridTrain
import Testing

/// A folder of PNG files as a run's images: class folders of 16×16 grey or RGB images train the
/// denoising objective at that size and those channels, and sample at them.
@Suite(.serialized) struct ImageFolderRunTests {
    /// Two classes of 16×16 grey images (bars across, bars down), ten each.
    static func glyphs(in dir: String) throws -> String {
        let root = dir + "/glyphs"
        for (name, across) in [("across", true), ("down", false)] {
            try FileManager.default.createDirectory(atPath: root + "/" + name, withIntermediateDirectories: true)
            for i in 0..<10 {
                let grey = (0..<256).map { p -> UInt8 in
                    let (y, x) = (p / 16, p % 16)
                    return ((across ? y : x) + i) % 4 < 2 ? 255 : 0
                }
                try Data(PNG.encode(width: 16, height: 16, grey: grey)).write(to: URL(fileURLWithPath: "\(root)/\(name)/\(i).png"))
            }
        }
        return root
    }

    @Test func classFoldersTrainAndSampleAtTheirSize() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let folder = try Self.glyphs(in: dir)
        let recipe = try DenoiseTests.recipe(in: dir,
                                             objectives: "  - plugin: denoise\n    config: {image_side: 16, patch: 4, timesteps: 20, sample_steps: 5, classes: 2}\n",
                                             data: "  images: \(folder)\n  image_size: 16")
        let r = try CLI.run(["train", recipe, "--set", "training.steps=4", "--set", "training.eval_every=4", "--set", "training.batch_size=8"])
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stdout.contains("18 train / 2 validation images"), "\(r.stdout)")
        let png = "\(dir)/grid.png"
        let s = try CLI.run(["sample", "--checkpoint", "\(dir)/run/checkpoint-000004.safetensors", "--images", "4", "--label", "0-1", "--out", png])
        #expect(s.status == 0, "\(s.all)")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: png))
        func be32(_ at: Int) -> Int { bytes[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) } }
        // 4 images of 16×16 at scale 4: 2 columns (one a label) × 2 rows, 1-pixel gaps.
        #expect(be32(16) == 2 * 64 + 1 && be32(20) == 2 * 64 + 1, "IHDR \(be32(16))x\(be32(20))")
    }

    /// Colour: RGB folders train with image_channels 3 and sample an RGB grid; an objective
    /// configured for grey refuses them by its keys.
    @Test func colourImagesTrainAndSampleInRGB() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let root = dir + "/colour"
        for (name, channel) in [("red", 0), ("blue", 2)] {
            try FileManager.default.createDirectory(atPath: root + "/" + name, withIntermediateDirectories: true)
            for i in 0..<6 {
                let rgb = (0..<(16 * 16 * 3)).map { v -> UInt8 in v % 3 == channel && (v / 48 + i) % 3 != 0 ? 255 : 0 }
                try Data(PNG.encode(width: 16, height: 16, rgb: rgb)).write(to: URL(fileURLWithPath: "\(root)/\(name)/\(i).png"))
            }
        }
        let config = "{image_side: 16, image_channels: 3, patch: 4, timesteps: 20, sample_steps: 5}"
        let recipe = try DenoiseTests.recipe(in: dir, objectives: "  - plugin: denoise\n    config: \(config)\n",
                                             data: "  images: \(root)\n  image_size: 16\n  image_channels: 3")
        let r = try CLI.run(["train", recipe, "--set", "training.steps=2", "--set", "training.eval_every=2", "--set", "training.batch_size=4"])
        #expect(r.status == 0, "\(r.all)")
        let png = "\(dir)/grid.png"
        let s = try CLI.run(["sample", "--checkpoint", "\(dir)/run/checkpoint-000002.safetensors", "--images", "3", "--out", png])
        #expect(s.status == 0, "\(s.all)")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: png))
        func be32(_ at: Int) -> Int { bytes[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) } }
        // 3 images of 16×16 at scale 4: 2 columns × 2 rows, 1-pixel gaps; colour type 2 (RGB).
        #expect(be32(16) == 2 * 64 + 1 && be32(20) == 2 * 64 + 1 && bytes[25] == 2, "IHDR \(be32(16))x\(be32(20)), colour type \(bytes[25])")

        let grey = try CLI.run(["train", recipe, "--set", "training.steps=2", "--set", "objectives[0].config.image_channels=1",
                                "--set", "training.output=\(dir)/grey"])
        #expect(grey.status != 0)
        #expect(grey.stderr.contains("the batch holds 16×16 images of 3 channels; config image_side is 16 and image_channels 1"), "\(grey.all)")
    }
}

/// Text-to-image in one sequence: a captioned folder (metadata.jsonl) trains the denoising
/// objective on caption + image (with the next-byte loss on the caption), and samples for a
/// caption with guidance; the refusals the issue lists, each with both sides named.
@Suite(.serialized) struct CaptionRunTests {
    static func captioned(in dir: String) throws -> String {
        let root = dir + "/captioned"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        var lines: [String] = []
        for (caption, across) in [("bars across", true), ("bars down", false)] {
            for i in 0..<8 {
                let grey = (0..<256).map { p -> UInt8 in ((across ? p / 16 : p % 16) + i) % 4 < 2 ? 255 : 0 }
                let name = "\(across ? "a" : "d")\(i).png"
                try Data(PNG.encode(width: 16, height: 16, grey: grey)).write(to: URL(fileURLWithPath: "\(root)/\(name)"))
                lines.append("{\"file_name\": \"\(name)\", \"text\": \"\(caption)\"}")
            }
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: root + "/metadata.jsonl", atomically: true, encoding: .utf8)
        return root
    }

    static let config = "{image_side: 16, patch: 4, caption_length: 12, caption_drop: 0.2, text_weight: 0.5, grid_positions: true, timesteps: 20, sample_steps: 5}"

    @Test func captionsTrainWithImageExpertsAndDrawWithGuidance() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let recipe = try DenoiseTests.recipe(in: dir, objectives: "  - plugin: denoise\n    config: \(Self.config)\n",
                                             data: "  images: \(try Self.captioned(in: dir))\n  image_size: 16")
        // The caption's positions and the image's through their own feed-forward weights.
        let r = try CLI.run(["train", recipe, "--set", "training.steps=4", "--set", "training.eval_every=4", "--set", "training.batch_size=8",
                             "--set", "model.image_experts=true"])
        #expect(r.status == 0, "\(r.all)")
        let checkpoint = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/run/checkpoint-000004.safetensors"))
        #expect(checkpoint.range(of: Data("\"blocks.0.image.fc1.weight\"".utf8)) != nil && checkpoint.range(of: Data("\"blocks.0.fc1.weight\"".utf8)) != nil)
        let png = "\(dir)/grid.png"
        let s = try CLI.run(["sample", "--checkpoint", "\(dir)/run/checkpoint-000004.safetensors", "--images", "4",
                             "--caption", "bars across", "--caption", "bars down", "--guidance", "2", "--out", png])
        #expect(s.status == 0, "\(s.all)")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: png))
        func be32(_ at: Int) -> Int { bytes[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) } }
        // One column per caption: 2 × 2 cells of 64 pixels.
        #expect(be32(16) == 2 * 64 + 1 && be32(20) == 2 * 64 + 1, "IHDR \(be32(16))x\(be32(20))")
        let long = try CLI.run(["sample", "--checkpoint", "\(dir)/run/checkpoint-000004.safetensors", "--images", "1",
                                "--caption", "a caption far too long", "--out", png])
        #expect(long.status != 0 && long.stderr.contains("a caption of 22 bytes asked; the model reads captions of at most 12"), "\(long.all)")
    }

    /// eval of a captioned model draws for the held-out captions and, with data.label_column,
    /// reports how often the classifier reads a drawn image as its caption's class.
    @Test func evalScoresCaptionAgreement() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let folder = try Self.captioned(in: dir)
        // A label column: the orientation, repeated from the caption.
        let metadata = try String(contentsOfFile: folder + "/metadata.jsonl", encoding: .utf8)
            .replacingOccurrences(of: "\"bars across\"}", with: "\"bars across\", \"kind\": \"across\"}")
            .replacingOccurrences(of: "\"bars down\"}", with: "\"bars down\", \"kind\": \"down\"}")
        try metadata.write(toFile: folder + "/metadata.jsonl", atomically: true, encoding: .utf8)
        let recipe = try DenoiseTests.recipe(in: dir, objectives: "  - plugin: denoise\n    config: \(Self.config)\n",
                                             data: "  images: \(folder)\n  image_size: 16\n  label_column: kind\n  validation_fraction: 0.25")
        #expect(try CLI.run(["train", recipe, "--set", "training.steps=2", "--set", "training.batch_size=4"]).status == 0)
        let e = try CLI.run(["eval", "--checkpoint", "\(dir)/run/checkpoint-000002.safetensors", "--images", "10", "--image-steps", "2",
                             "--classifier-steps", "5", "--guidance", "2"])
        #expect(e.status == 0, "\(e.all)")
        #expect(e.stdout.contains("10 images (2 steps, the held-out captions)") && e.stdout.contains("classifier agreement"), "\(e.stdout)")

        // Images kept out of training: "down" alone is their first class, renumbered as the
        // training images' second, so the classifier reads them as what they are.
        let unseen = dir + "/unseen"
        try FileManager.default.createDirectory(atPath: unseen, withIntermediateDirectories: true)
        var rows: [String] = []
        for i in 0..<4 {
            try FileManager.default.copyItem(atPath: "\(folder)/d\(i).png", toPath: "\(unseen)/d\(i).png")
            rows.append("{\"file_name\": \"d\(i).png\", \"text\": \"bars down\", \"kind\": \"down\"}")
        }
        try (rows.joined(separator: "\n") + "\n").write(toFile: unseen + "/metadata.jsonl", atomically: true, encoding: .utf8)
        let json = "\(dir)/unseen.json"
        let u = try CLI.run(["eval", "--checkpoint", "\(dir)/run/checkpoint-000002.safetensors", "--images", "10", "--image-steps", "2",
                             "--classifier-steps", "300", "--unseen-images", unseen, "--out", json])
        #expect(u.status == 0, "\(u.all)")
        #expect(u.stdout.contains("unseen images \(unseen) (4): the classifier reads them at 100.0%")
                && u.stdout.contains("10 images (2 steps, the captions of \(unseen))"), "\(u.stdout)")
        let record = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any]
        let metrics = record?["denoise"] as? [String: Double] ?? [:]
        #expect(metrics["unseen/classifier_accuracy"] == 1 && metrics["unseen/classifier_agreement"] != nil
                && metrics["frechet_features"] != metrics["unseen/frechet_features"], "\(metrics)")

        // A class the training images lack is refused by name.
        try (rows.joined(separator: "\n").replacingOccurrences(of: "\"down\"}", with: "\"diagonal\"}") + "\n")
            .write(toFile: unseen + "/metadata.jsonl", atomically: true, encoding: .utf8)
        let bad = try CLI.run(["eval", "--checkpoint", "\(dir)/run/checkpoint-000002.safetensors", "--images", "10", "--image-steps", "2",
                               "--classifier-steps", "5", "--unseen-images", unseen, "--out", json])
        #expect(bad.status != 0 && bad.stderr.contains("\(unseen): holds class \"diagonal\", which the training images (2 classes) do not"), "\(bad.all)")
    }

    /// A captioned teacher distils like the digits one (the student reads the caption as its
    /// teacher does), and `bench sample` draws teacher and student for the held-out captions
    /// with guidance, scoring agreement overall and per caption style.
    @Test func captionedTeacherDistilsAndBenchesPerStyle() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let folder = try Self.captioned(in: dir)
        // Styled captions ("across, even"), with the orientation as the class column.
        var lines: [String] = []
        for line in try String(contentsOfFile: folder + "/metadata.jsonl", encoding: .utf8).split(separator: "\n") {
            let kind = line.contains("across") ? "across" : "down"
            let parity = Int(String(line.split(separator: ".").first!.last!))! % 2 == 0 ? "even" : "odd"
            lines.append(line.replacingOccurrences(of: "\"bars \(kind)\"}", with: "\"\(kind), \(parity)\", \"kind\": \"\(kind)\"}"))
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: folder + "/metadata.jsonl", atomically: true, encoding: .utf8)
        let data = "  images: \(folder)\n  image_size: 16\n  label_column: kind\n  validation_fraction: 0.25"
        let model = "image_side: 16, patch: 4, caption_length: 12, grid_positions: true, timesteps: 20, prediction: v"
        let teacher = try DenoiseTests.recipe(in: dir, objectives: "  - plugin: denoise\n    config: {\(model), sample_steps: 4}\n", data: data)
        #expect(try CLI.run(["train", teacher, "--set", "training.steps=2", "--set", "training.batch_size=4"]).status == 0)
        let checkpoint = "\(dir)/run/checkpoint-000002.safetensors"
        let student = try DenoiseTests.recipe(in: dir, objectives: "  - plugin: distill\n    teacher: \(checkpoint)\n"
                                              + "    config: {\(model), teacher_steps: 4, teacher_prediction: v}\n", data: data)
        let d = try CLI.run(["distill", student, "--until", "2", "--set", "training.steps=2", "--set", "training.batch_size=4",
                             "--set", "training.output=\(dir)/students"])
        #expect(d.status == 0, "\(d.all)")
        let bench = try CLI.run(["bench", "sample", "--teacher", checkpoint, "--students", "\(dir)/students/student-2.safetensors",
                                 "--images", "12", "--ddpm-steps", "20", "--ddim", "2", "--guidance", "2", "--classifier-steps", "5"])
        #expect(bench.status == 0, "\(bench.all)")
        for line in ["teacher DDPM 20, agreement by caption style: ", "teacher DDIM 2, agreement by caption style:",
                     "student 2, agreement by caption style:", "student 2 vs teacher DDIM 2: Fréchet"] {
            #expect(bench.stdout.contains(line), "\(line): \(bench.stdout)")
        }
    }

    @Test func captionRefusalsNameBothSides() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let folder = try Self.captioned(in: dir)
        let recipe = try DenoiseTests.recipe(in: dir, objectives: "  - plugin: denoise\n    config: \(Self.config)\n",
                                             data: "  images: \(folder)\n  image_size: 16")
        let short = try CLI.run(["train", recipe, "--set", "training.steps=1", "--set", "objectives[0].config.caption_length=5"])
        #expect(short.status != 0)
        #expect(short.stderr.contains("bytes (\"bars") && short.stderr.contains("config caption_length is 5 (raise it, or shorten the captions)"),
                "\(short.all)")
        // Captions asked of data without any: class folders.
        let classes = try ImageFolderRunTests.glyphs(in: dir)
        let none = try CLI.run(["train", recipe, "--set", "training.steps=1", "--set", "data.images=\(classes)"])
        #expect(none.status != 0 && none.stderr.contains("config caption_length is 12, but the images have no captions"), "\(none.all)")
        // --caption on a model trained without captions.
        let plain = try DenoiseTests.recipe(in: dir, objectives: "  - plugin: denoise\n    config: {image_side: 16, patch: 4, timesteps: 20, sample_steps: 5}\n",
                                            data: "  images: \(folder)\n  image_size: 16")
        #expect(try CLI.run(["train", plain, "--set", "training.steps=1", "--set", "training.output=\(dir)/plain"]).status == 0)
        let asked = try CLI.run(["sample", "--checkpoint", "\(dir)/plain/checkpoint-000001.safetensors", "--images", "1", "--caption", "bars", "--out", "\(dir)/p.png"])
        #expect(asked.status != 0 && asked.stderr.contains("a caption asked, but this model was trained without captions"), "\(asked.all)")
    }
}
