import Foundation
import Testing

/// The masked-diffusion objective end to end: it trains beside the causal one in one recipe
/// (sharing the byte head), its validation loss is reported as a bound in bits per byte, and
/// it continues and fills in text by unmasking in a few steps.
@Suite struct MDLMTests {
    @Test func trainsInAMixtureAndSamplesByUnmasking() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let recipe = try CLI.tinyRecipe(in: dir, objectives: "  - plugin: causal\n  - plugin: mdlm\n    config: {sample_steps: 4}\n")
        let train = try CLI.run(["train", recipe, "--set", "training.steps=20", "--set", "training.eval_every=20", "--sample-tokens", "0"])
        #expect(train.status == 0, "\(train.all)")
        #expect(train.stdout.contains("final validation: ") && train.stdout.contains("mdlm "), "\(train.stdout)")
        let checkpoint = "\(dir)/run/checkpoint-000020.safetensors"
        let eval = try CLI.run(["eval", "--checkpoint", checkpoint])
        #expect(eval.status == 0 && eval.stdout.contains("mdlm: ") && eval.stdout.contains("bits/byte"), "\(eval.all)")

        let prompt = "To be, or not"
        let sample = try CLI.run(["sample", "--checkpoint", checkpoint, "--objective", "mdlm", "--prompt", prompt, "--tokens", "12", "--steps", "3"])
        #expect(sample.status == 0, "\(sample.all)")
        #expect(sample.stderr.contains("sampling 12 bytes with mdlm"), "\(sample.stderr)")
        let continued = Array(sample.stdout.utf8.dropFirst(prompt.utf8.count)).filter { $0 != 10 }
        #expect(sample.stdout.hasPrefix(prompt) && continued.count == 12, "\(sample.stdout)")

        let filled = try CLI.run(["sample", "--checkpoint", checkpoint, "--objective", "mdlm", "--infill", "To be, or [MASK][MASK][MASK] to be"])
        #expect(filled.status == 0 && filled.stdout.hasPrefix("To be, or ") && !filled.stdout.contains("[MASK]"), "\(filled.all)")
        #expect(Array(filled.stdout.utf8).count == "To be, or xxx to be\n".utf8.count, "\(filled.stdout)")

        let tooLong = try CLI.run(["sample", "--checkpoint", checkpoint, "--objective", "mdlm", "--prompt", prompt, "--tokens", "32"])
        #expect(tooLong.status != 0 && tooLong.stderr.contains("ask for at most 31"), "\(tooLong.all)")
    }
}
