import Foundation
import Testing

/// The denoising objective end to end: digits in, falling MSE, a PNG grid of samples out.
@Suite(.serialized) struct DenoiseTests {
    static func recipe(in dir: String, objectives: String, data: String) throws -> String {
        let text = """
        device: cpu
        model: {d_model: 32, layers: 1, heads: 2, seq_len: 32}
        data:
        \(data)
        objectives:
        \(objectives)
        optimizer: {lr: 3.0e-3}
        schedule: {warmup_steps: 5}
        training: {steps: 40, batch_size: 32, eval_every: 20, eval_batches: 2, log_every: 10, output: \(dir)/run}
        """
        let path = dir + "/r.yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func trainsOnDigitsAndDrawsAGrid() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let recipe = try Self.recipe(in: dir, objectives: "  - plugin: denoise\n    config: {timesteps: 50, sample_steps: 50}\n",
                                     data: "  images: \(CLI.root)/data/digits.csv.gz")
        let r = try CLI.run(["train", recipe])
        #expect(r.status == 0, "\(r.all)")
        let evals = r.stdout.split(separator: "\n").filter { $0.hasPrefix("eval step") }
        func mse(_ line: Substring) -> Double? { line.components(separatedBy: "denoise mse ").last.flatMap { Double($0.prefix(6)) } }
        let first = try #require(evals.first.flatMap(mse)), last = try #require(evals.last.flatMap(mse))
        #expect(last < first * 0.8, "validation MSE did not fall: \(first) -> \(last)")
        #expect(r.stdout.contains("1,350 train / 150 validation images"), "\(r.stdout)")

        let png = "\(dir)/grid.png"
        let s = try CLI.run(["sample", "--checkpoint", "\(dir)/run/checkpoint-000040.safetensors", "--images", "6", "--out", png])
        #expect(s.status == 0, "\(s.all)")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: png))
        #expect(bytes.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
        func be32(_ at: Int) -> Int { bytes[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) } }
        // 6 images: 3 columns x 2 rows of 8x8 pixels at scale 4, 1-pixel gaps.
        #expect(be32(16) == 3 * 32 + 2 && be32(20) == 2 * 32 + 1, "IHDR \(be32(16))x\(be32(20))")
    }

    @Test func classConditionalSamplingWithGuidance() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let recipe = try Self.recipe(in: dir, objectives: "  - plugin: denoise\n    config: {timesteps: 20, sample_steps: 20, classes: 10, label_drop: 0.2}\n",
                                     data: "  images: \(CLI.root)/data/digits.csv.gz")
        let r = try CLI.run(["train", recipe, "--set", "training.steps=20"])
        #expect(r.status == 0, "\(r.all)")
        let checkpoint = "\(dir)/run/checkpoint-000020.safetensors", png = "\(dir)/grid.png"
        let s = try CLI.run(["sample", "--checkpoint", checkpoint, "--images", "20", "--label", "0-9", "--guidance", "2", "--out", png])
        #expect(s.status == 0, "\(s.all)")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: png))
        func be32(_ at: Int) -> Int { bytes[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) } }
        // One column per label: 10 columns x 2 rows.
        #expect(be32(16) == 10 * 32 + 9 && be32(20) == 2 * 32 + 1, "IHDR \(be32(16))x\(be32(20))")

        // DDIM in 4 steps with η = 0 is deterministic given the seed's starting noise: two runs,
        // one grid. The ancestral sampler refuses 4 steps.
        let ddim = ["sample", "--checkpoint", checkpoint, "--images", "4", "--sampler", "ddim", "--steps", "4", "--label", "3"]
        let a = try CLI.run(ddim + ["--out", "\(dir)/a.png"]), b = try CLI.run(ddim + ["--out", "\(dir)/b.png"])
        #expect(a.status == 0 && b.status == 0, "\(a.all)\(b.all)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/a.png")) == Data(contentsOf: URL(fileURLWithPath: "\(dir)/b.png")))
        let ddpm = try CLI.run(["sample", "--checkpoint", checkpoint, "--images", "2", "--sampler", "ddpm", "--steps", "4", "--out", png])
        #expect(ddpm.status != 0 && ddpm.stderr.contains("the ancestral DDPM sampler takes all 20 steps; 4 asked"), "\(ddpm.all)")

        // hybrid eval draws labelled images and scores them against the real digits.
        let e = try CLI.run(["eval", "--checkpoint", checkpoint, "--images", "40", "--image-steps", "4", "--classifier-steps", "100"])
        #expect(e.status == 0 && e.stdout.contains("real vs real") && e.stdout.contains("classifier agreement"), "\(e.all)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(dir)/run/checkpoint-000020.eval.json"))) as? [String: Any])
        let denoise = try #require(report["denoise"] as? [String: Double])
        #expect(denoise["mse"] != nil && (denoise["frechet_features"] ?? 0) > 0 && (denoise["frechet_pixels"] ?? 0) > 0
                && denoise["classifier_agreement"] != nil && (denoise["real_vs_real_frechet_features"] ?? 0) > 0
                && (0...1).contains(denoise["near_copies"] ?? -1), "\(denoise)")
        // 40 drawn against all 1,500 real digits: the halves' (750/750) figure times (1/40 + 1/1500) / (2/750).
        let perfect = (denoise["real_vs_real_frechet_features"] ?? 0) * (1.0 / 40 + 1.0 / 1500) / (2.0 / 750)
        #expect(abs((denoise["perfect_frechet_features"] ?? 0) - perfect) < 1e-9 * perfect, "\(denoise)")

        let unknown = try CLI.run(["sample", "--checkpoint", checkpoint, "--images", "2", "--label", "12", "--out", png])
        #expect(unknown.status != 0 && unknown.stderr.contains("label 12 asked; the model knows classes 0...9"), "\(unknown.all)")
        let badList = try CLI.run(["sample", "--checkpoint", checkpoint, "--images", "2", "--label", "9-3", "--out", png])
        #expect(badList.status != 0 && badList.stderr.contains("\"9-3\" is not a class number (7) or an ascending range (0-9)"), "\(badList.all)")
    }

    @Test func labelsOnAnUnconditionalModelAreRefused() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let recipe = try Self.recipe(in: dir, objectives: "  - plugin: denoise\n    config: {timesteps: 20, sample_steps: 20}\n",
                                     data: "  images: \(CLI.root)/data/digits.csv.gz")
        let r = try CLI.run(["train", recipe, "--set", "training.steps=2", "--set", "training.eval_every=2"])
        #expect(r.status == 0, "\(r.all)")
        let s = try CLI.run(["sample", "--checkpoint", "\(dir)/run/checkpoint-000002.safetensors", "--images", "2", "--label", "3",
                             "--out", "\(dir)/grid.png"])
        #expect(s.status != 0 && s.stderr.contains("labels asked, but this model was trained without them (config classes 0)"), "\(s.all)")
    }

    /// Trains a tiny 20-timestep digits teacher predicting `prediction` for `steps` steps into
    /// `dir`/run and returns its recipe.
    static func trainTinyTeacher(in dir: String, prediction: String, steps: Int) throws -> String {
        let recipe = try Self.recipe(in: dir, objectives: "  - plugin: denoise\n    config: {timesteps: 20, sample_steps: 20, prediction: \(prediction), schedule: cosine}\n",
                                     data: "  images: \(CLI.root)/data/digits.csv.gz")
        let t = try CLI.run(["train", recipe, "--set", "training.steps=\(steps)", "--set", "training.eval_every=\(steps)"])
        #expect(t.status == 0, "\(t.all)")
        return recipe
    }

    @Test func progressiveDistillationHalvesTheSteps() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let digits = "  images: \(CLI.root)/data/digits.csv.gz"
        let teacherRecipe = try Self.trainTinyTeacher(in: dir, prediction: "v", steps: 10)
        let noTeacher = try CLI.run(["distill", teacherRecipe])
        #expect(noTeacher.status != 0 && noTeacher.stderr.contains("no objective has a teacher"), "\(noTeacher.all)")
        let distill = "  - plugin: distill\n    teacher: \(dir)/run/checkpoint-000010.safetensors\n"
            + "    config: {timesteps: 20, prediction: v, schedule: cosine, teacher_steps: 4, teacher_prediction: v}\n"
        let recipe = try Self.recipe(in: dir, objectives: distill, data: digits)
        let r = try CLI.run(["distill", recipe, "--set", "training.steps=15", "--set", "training.eval_every=15",
                             "--set", "training.output=\(dir)/students"])
        #expect(r.status == 0, "\(r.all)")
        // Each stage starts as its teacher and lowers its own distillation loss.
        let evals = r.stdout.split(separator: "\n").filter { $0.hasPrefix("eval step") }
        func mse(_ line: Substring) -> Double? { line.components(separatedBy: "distill mse ").last.flatMap { Double($0.prefix(6)) } }
        #expect(evals.count == 4, "\(r.stdout)")
        for stage in stride(from: 0, to: evals.count - 1, by: 2) {
            let first = try #require(mse(evals[stage])), last = try #require(mse(evals[stage + 1]))
            #expect(last < first, "stage \(stage / 2 + 1): \(first) -> \(last)")
        }
        // The students record their step counts, and sample with them by default.
        for steps in [2, 1] {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/students/student-\(steps).safetensors"))
            let headerLength = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
            let header = try #require(try JSONSerialization.jsonObject(with: bytes[8..<(8 + headerLength)]) as? [String: Any])
            let metadata = try #require(header["__metadata__"] as? [String: String])
            #expect(metadata["student_steps"] == String(steps))
        }
        let s = try CLI.run(["sample", "--checkpoint", "\(dir)/students/student-1.safetensors", "--images", "3", "--out", "\(dir)/s.png"])
        #expect(s.status == 0, "\(s.all)")
        // bench sample: every sampler side by side, then each student against the teacher's
        // DDPM and the teacher's DDIM at the student's count.
        let bench = try CLI.run(["bench", "sample", "--teacher", "\(dir)/run/checkpoint-000010.safetensors", "--students",
                                 "\(dir)/students/student-2.safetensors", "\(dir)/students/student-1.safetensors", "--images", "20",
                                 "--ddpm-steps", "20", "--ddim", "2", "--unconditional", "--classifier-steps", "50"])
        #expect(bench.status == 0, "\(bench.all)")
        for line in ["real vs real (750/750)", "near copies: within", "teacher DDPM", "teacher DDIM", "student 2 vs teacher DDPM 20: Fréchet",
                     "student 2 vs teacher DDIM 2: Fréchet", "student 1 vs teacher DDPM 20: Fréchet"] {
            #expect(bench.stdout.contains(line), "\(line): \(bench.stdout)")
        }
        #expect(!bench.stdout.contains("student 1 vs teacher DDIM"), "\(bench.stdout)")
    }

    /// An ε-predicting teacher: the first stage reads it as ε (its recipe is checked for that),
    /// every later stage's teacher is a v-predicting student and is read as v.
    @Test func laterStagesReadTheirStudentTeacherAsTheStudentPredicts() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let digits = "  images: \(CLI.root)/data/digits.csv.gz"
        _ = try Self.trainTinyTeacher(in: dir, prediction: "epsilon", steps: 4)
        let teacher = "\(dir)/run/checkpoint-000004.safetensors"
        let recipe = try Self.recipe(in: dir, objectives: "  - plugin: distill\n    teacher: \(teacher)\n"
                                     + "    config: {timesteps: 20, schedule: cosine, teacher_steps: 4, teacher_prediction: v}\n", data: digits)
        let misread = try CLI.run(["distill", recipe, "--set", "training.steps=2", "--set", "training.output=\(dir)/students"])
        #expect(misread.status != 0 && misread.stderr.contains(
            "objectives[0].config.teacher_prediction is v, but the teacher \(teacher) was trained with prediction epsilon "
            + "(its recipe's objectives[0].config.prediction); expected teacher_prediction: epsilon"), "\(misread.all)")
        let r = try CLI.run(["distill", recipe, "--set", "objectives[0].config.teacher_prediction=epsilon", "--set", "training.steps=2",
                             "--set", "training.eval_every=2", "--set", "training.output=\(dir)/students"])
        #expect(r.status == 0, "\(r.all)")
        // The second stage's stored recipe reads its teacher, student-2, as the v it predicts.
        let second = try String(contentsOfFile: "\(dir)/students/stage-1/recipe.yaml", encoding: .utf8)
        #expect(second.contains("teacher_prediction: v") && second.contains("student-2.safetensors"), "\(second)")
    }

    @Test func badDistillationInputIsRefused() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A text model is no teacher for an image student.
        let causal = try Self.recipe(in: dir, objectives: "  - plugin: causal\n", data: "  text: [\"\(CLI.root)/data/shakespeare/*.txt\"]")
        let c = try CLI.run(["train", causal, "--set", "training.steps=2", "--set", "training.eval_every=2", "--sample-tokens", "0"])
        #expect(c.status == 0, "\(c.all)")
        let recipe = try Self.recipe(in: dir, objectives: "  - plugin: distill\n    teacher: \(dir)/run/checkpoint-000002.safetensors\n"
                                     + "    config: {timesteps: 20, teacher_steps: 4}\n", data: "  images: \(CLI.root)/data/digits.csv.gz")
        let r = try CLI.run(["distill", recipe])
        #expect(r.status != 0 && r.stderr.contains("objective distill: its teacher cannot run")
                && r.stderr.contains("has no tensor t_mlp1.weight"), "\(r.all)")
        // Students halve the teacher's steps: 3 is not on the way from 4.
        let until = try CLI.run(["distill", recipe, "--until", "3"])
        #expect(until.status != 0 && until.stderr.contains("--until 3: the students halve 4 teacher steps, so expected 2, 1"), "\(until.all)")
        let odd = try CLI.run(["distill", recipe, "--set", "objectives[0].config.teacher_steps=5"])
        #expect(odd.status != 0 && odd.stderr.contains("config teacher_steps is 5; expected an even count ≥ 2"), "\(odd.all)")
        let zero = try CLI.run(["sample", "--checkpoint", "\(dir)/run/checkpoint-000002.safetensors", "--images", "2", "--steps", "0"])
        #expect(zero.status != 0 && zero.stderr.contains("--steps must be at least 1, got 0"), "\(zero.all)")
    }

    @Test func anImageObjectiveWithoutImagesIsRefused() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let recipe = try Self.recipe(in: dir, objectives: "  - plugin: denoise\n",
                                     data: "  text: [\"\(CLI.root)/data/shakespeare/*.txt\"]")
        let r = try CLI.run(["train", recipe])
        #expect(r.status != 0 && r.stderr.contains("objective denoise reads images, but the recipe's data has no images"), "\(r.all)")
    }

    @Test func badImageDataNamesFileLineAndColumn() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let row = Array(repeating: "0", count: 64).joined(separator: ",") + ",3"
        try "\(row)\n\(row.replacingOccurrences(of: "0,0,0,", with: "0,99,0,", options: [], range: nil))\n".write(toFile: "\(dir)/bad.csv", atomically: true, encoding: .utf8)
        let recipe = try Self.recipe(in: dir, objectives: "  - plugin: denoise\n", data: "  images: \(dir)/bad.csv")
        let r = try CLI.run(["train", recipe])
        #expect(r.status != 0 && r.stderr.contains("bad.csv:2:3: pixel 2 is \"99\"; expected an integer in 0...16"), "\(r.all)")
    }
}
