import Foundation
import Testing

/// The shortcut objective end to end: digits in, falling MSE, few-step samples out, the same
/// run on lavapipe as on the CPU.
@Suite(.serialized) struct ShortcutTests {
    static let objective = "  - plugin: shortcut\n    config: {classes: 10, base_steps: 16, consistency_share: 0.25}\n"

    /// "step  k/N  shortcut L …" → L, per step.
    static func stepLosses(_ out: String) -> [Double] {
        out.split(separator: "\n").filter { $0.hasPrefix("step ") }.compactMap { line in
            let words = line.split(separator: " ")
            return words.firstIndex(of: "shortcut").flatMap { Double(words[$0 + 1]) }
        }
    }

    @Test func trainsOnDigitsAndSamplesInOneTwoAndFourSteps() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let recipe = try DenoiseTests.recipe(in: dir, objectives: Self.objective, data: "  images: \(CLI.root)/data/digits.csv.gz")
        let r = try CLI.run(["train", recipe])
        #expect(r.status == 0, "\(r.all)")
        let evals = r.stdout.split(separator: "\n").filter { $0.hasPrefix("eval step") }
        func mse(_ line: Substring) -> Double? { line.components(separatedBy: "shortcut mse ").last.flatMap { Double($0.prefix(6)) } }
        let first = try #require(evals.first.flatMap(mse)), last = try #require(evals.last.flatMap(mse))
        #expect(last < first * 0.8, "validation MSE did not fall: \(first) -> \(last)")

        let checkpoint = "\(dir)/run/checkpoint-000040.safetensors"
        func png(_ name: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(name).png")) }
        for steps in [1, 2, 4] {
            let s = try CLI.run(["sample", "--checkpoint", checkpoint, "--images", "10", "--label", "0-9", "--steps", "\(steps)", "--out", "\(dir)/\(steps).png"])
            #expect(s.status == 0, "\(s.all)")
        }
        // One seed, one start: the same grid twice; another step count, another grid.
        let again = try CLI.run(["sample", "--checkpoint", checkpoint, "--images", "10", "--label", "0-9", "--steps", "2", "--out", "\(dir)/again.png"])
        #expect(again.status == 0, "\(again.all)")
        #expect(try png("again") == png("2") && png("1") != png("2"))
        let bytes = try png("1")
        func be32(_ at: Int) -> Int { bytes[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) } }
        #expect(bytes.prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]) && be32(16) == 10 * 32 + 9 && be32(20) == 32, "IHDR \(be32(16))x\(be32(20))")

        let three = try CLI.run(["sample", "--checkpoint", checkpoint, "--images", "2", "--steps", "3", "--out", "\(dir)/x.png"])
        #expect(three.status != 0 && three.stderr.contains("3 steps asked; the shortcut model takes a power of two at most base_steps (1, 2, 4 … 16)"), "\(three.all)")
        let ddim = try CLI.run(["sample", "--checkpoint", checkpoint, "--images", "2", "--sampler", "ddim", "--out", "\(dir)/x.png"])
        #expect(ddim.status != 0 && ddim.stderr.contains("the shortcut model takes its own Euler steps"), "\(ddim.all)")

        // hybrid eval draws with the objective's own sampler: one Euler step here.
        let e = try CLI.run(["eval", "--checkpoint", checkpoint, "--images", "20", "--image-steps", "1", "--classifier-steps", "50"])
        #expect(e.status == 0 && e.stdout.contains("shortcut: 20 images (1 step, labels 0-9)") && e.stdout.contains("classifier agreement"), "\(e.all)")

        // bench sample: the shortcut model at each count beside a (tiny) teacher's samplers.
        let teacherDir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: teacherDir) }
        _ = try DenoiseTests.trainTinyTeacher(in: teacherDir, prediction: "v", steps: 10)
        let bench = ["bench", "sample", "--teacher", "\(teacherDir)/run/checkpoint-000010.safetensors", "--shortcut", checkpoint, "--images", "20",
                     "--ddpm-steps", "20", "--ddim", "2", "--unconditional", "--classifier-steps", "50"]
        let b = try CLI.run(bench + ["--shortcut-steps", "1,2"])
        #expect(b.status == 0, "\(b.all)")
        for line in ["shortcut                 1", "shortcut                 2", "shortcut 1 vs teacher DDPM 20: Fréchet", "shortcut 2 vs teacher DDIM 2: Fréchet"] {
            #expect(b.stdout.contains(line), "\(line): \(b.stdout)")
        }
        #expect(!b.stdout.contains("shortcut 1 vs teacher DDIM"), "\(b.stdout)")
        let badCounts = try CLI.run(bench + ["--shortcut-steps", "1,,2"])
        #expect(badCounts.status != 0 && badCounts.stderr.contains("--shortcut-steps \"1,,2\": expected step counts like 1,2,4"), "\(badCounts.all)")
    }

    /// 20 steps from one seed on the CPU and on lavapipe print the same losses (within 1e-3
    /// relative): the self-consistency targets come from the weights as trained on each device.
    @Test func aShortcutRunMatchesTheCPUOnVulkan() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let recipe = try DenoiseTests.recipe(in: dir, objectives: Self.objective, data: "  images: \(CLI.root)/data/digits.csv.gz")
        var losses: [String: [Double]] = [:]
        for device in ["cpu", "vulkan"] {
            let r = try CLI.run(["train", recipe, "--set", "device=\(device)", "--set", "training.steps=20", "--set", "training.log_every=1",
                                 "--set", "training.batch_size=8", "--set", "training.output=\(dir)/\(device)"])
            #expect(r.status == 0, "\(r.all)")
            losses[device] = Self.stepLosses(r.stdout)
            if device == "vulkan" { #expect(r.stdout.contains("device: vulkan"), "\(r.stdout)") }
        }
        let cpu = try #require(losses["cpu"]), vulkan = try #require(losses["vulkan"])
        #expect(cpu.count == 20 && vulkan.count == 20, "\(cpu) \(vulkan)")
        for (step, (a, b)) in zip(cpu, vulkan).enumerated() {
            #expect(abs(a - b) <= 1e-3 * abs(a), "step \(step + 1): cpu \(a) vulkan \(b)")
        }
    }
}
