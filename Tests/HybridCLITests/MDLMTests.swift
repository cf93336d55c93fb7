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

    /// `bench text`: the causal objective's own samples and mdlm's at two step counts, read by
    /// the causal objective; greedy samples read as likelier than temperature-1 ones.
    @Test func benchTextScoresSamplersSideBySide() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let recipe = try CLI.tinyRecipe(in: dir, objectives: "  - plugin: causal\n  - plugin: mdlm\n")
        let train = try CLI.run(["train", recipe, "--set", "training.steps=20", "--set", "training.eval_every=20", "--sample-tokens", "0"])
        #expect(train.status == 0, "\(train.all)")
        let checkpoint = "\(dir)/run/checkpoint-000020.safetensors"
        func bench(_ extra: [String]) throws -> [[String: Any]] {
            let r = try CLI.run(["bench", "text", "--scorer", checkpoint, "--checkpoint", checkpoint, "--objective", "mdlm",
                                 "--tokens", "16", "--samples", "2"] + extra)
            #expect(r.status == 0, "\(r.all)")
            let line = r.stdout.split(separator: "\n").first { $0.hasPrefix("RESULT ") } ?? ""
            return (try? JSONSerialization.jsonObject(with: Data(line.dropFirst("RESULT ".count).utf8))) as? [[String: Any]] ?? []
        }
        let rows = try bench(["--steps", "2,4"])
        #expect(rows.map { $0["objective"] as? String } == ["causal", "causal", "mdlm", "mdlm"] && rows.map { $0["steps"] as? Int } == [0, 0, 2, 4], "\(rows)")
        // The causal sampler writes the same bytes with its cache and without.
        #expect(rows.count == 4 && rows[0]["bits_per_byte"] as? Double == rows[1]["bits_per_byte"] as? Double, "\(rows)")
        for row in rows {
            let bits = row["bits_per_byte"] as? Double ?? -1, entropy = row["byte_entropy"] as? Double ?? -1
            #expect(bits > 0 && bits < 16 && entropy > 0 && entropy <= 8 && (row["bytes_per_s"] as? Double ?? 0) > 0, "\(row)")
        }
        let greedy = try bench(["--steps", "2", "--temperature", "0"])
        #expect((greedy.first?["bits_per_byte"] as? Double ?? 99) < (rows.first?["bits_per_byte"] as? Double ?? 0), "\(greedy) against \(rows)")

        let tooLong = try CLI.run(["bench", "text", "--scorer", checkpoint, "--checkpoint", checkpoint, "--tokens", "40"])
        #expect(tooLong.status != 0 && tooLong.stderr.contains("must fit the scorer's context of 32"), "\(tooLong.all)")
    }
}
