import Foundation
import Testing

/// The command-line tool end to end: real recipe, real plugin .so, real training, real files.
@Suite(.serialized) struct TrainAndSampleTests {
    @Test func trainsCheckpointsAndSamples() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let recipe = try CLI.tinyRecipe(in: dir)
        let r = try CLI.run(["train", recipe, "--sample-tokens", "40"])
        #expect(r.status == 0, "\(r.all)")
        // Progress lines, validation in bits/byte, a checkpoint, a sample.
        #expect(r.stdout.contains("step 10/40"), "\(r.stdout)")
        #expect(r.stdout.contains("tok/s"))
        #expect(r.stdout.contains("ETA"))
        let evals = r.stdout.split(separator: "\n").filter { $0.hasPrefix("eval step") }
        #expect(evals.count == 3, "\(evals)")
        func bits(_ line: Substring) -> Double? {
            line.components(separatedBy: "= ").last.flatMap { Double($0.split(separator: " ")[0]) }
        }
        let first = try #require(bits(evals.first!)), last = try #require(bits(evals.last!))
        #expect(first > 7.5, "an untrained byte model is near 8 bits/byte: \(first)")
        #expect(last < first - 2, "validation did not fall: \(first) -> \(last)")
        let checkpoint = "\(dir)/run/checkpoint-000040.safetensors"
        #expect(FileManager.default.fileExists(atPath: checkpoint))
        #expect(FileManager.default.fileExists(atPath: "\(dir)/run/recipe.yaml"))
        #expect(r.stdout.contains("sample from causal"))

        let s = try CLI.run(["sample", "--checkpoint", checkpoint, "--prompt", "ROMEO:", "--tokens", "30", "--seed", "3"])
        #expect(s.status == 0, "\(s.all)")
        #expect(s.stdout.hasPrefix("ROMEO:"))
        #expect(s.stdout.utf8.count >= 36, "\(s.stdout)")
        // Same seed, same text.
        let again = try CLI.run(["sample", "--checkpoint", checkpoint, "--prompt", "ROMEO:", "--tokens", "30", "--seed", "3"])
        #expect(again.stdout == s.stdout)
    }

    @Test func recipeCheckPrintsTheResolvedRecipe() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let recipe = try CLI.tinyRecipe(in: dir)
        let r = try CLI.run(["recipe", "check", recipe, "--set", "training.steps=7"])
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stdout.contains("steps: 7"))
        #expect(r.stdout.contains("mlp_ratio: 4"), "defaults are filled in: \(r.stdout)")
    }

    @Test func pluginsListsTheCausalObjective() throws {
        let r = try CLI.run(["plugins"])
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stdout.contains("libhybrid-objective-causal.so"))
        #expect(r.stdout.contains("causal 1.0.0"))
        #expect(r.stdout.contains("(beside the executable)") || r.stdout.contains("executable"), "\(r.stdout)")
    }
}
