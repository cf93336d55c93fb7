import Foundation
import HybridCore
import HybridTrain
import Testing

/// Bad input gets one clear message and a non-zero exit, and leaves nothing half-written.
@Suite struct BadInputTests {
    func expectFailure(_ r: CLI.Result, mentions: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status != 0, "exit status 0 for bad input: \(r.all)", sourceLocation: sourceLocation)
        for m in mentions { #expect(r.stderr.contains(m), "stderr lacks \"\(m)\": \(r.stderr)", sourceLocation: sourceLocation) }
        #expect(!r.stderr.contains("Fatal error"), "crashed: \(r.stderr)", sourceLocation: sourceLocation)
    }

    @Test func missingRecipe() throws {
        expectFailure(try CLI.run(["train", "/nonexistent/r.yaml"]), mentions: ["/nonexistent/r.yaml"])
    }

    @Test func invalidYAMLReportsLineAndColumn() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "model:\n  d_model: [1, 2\n".write(toFile: "\(dir)/bad.yaml", atomically: true, encoding: .utf8)
        expectFailure(try CLI.run(["recipe", "check", "\(dir)/bad.yaml"]), mentions: ["bad.yaml:"])
    }

    @Test func unknownKeySuggestsTheRightOne() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let recipe = try CLI.tinyRecipe(in: dir, extra: "trainig: {}\n")
        expectFailure(try CLI.run(["train", recipe]), mentions: ["trainig", "training"])
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/run"), "a refused recipe must not create the run folder")
    }

    @Test func unknownPluginListsTheFoldersSearched() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let recipe = try CLI.tinyRecipe(in: dir, objectives: "  - plugin: nosuch\n")
        expectFailure(try CLI.run(["train", recipe]), mentions: ["libhybrid-objective-nosuch.so", CLI.buildFolder])
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/run"))
    }

    @Test func badOverrideNamesTheFlag() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let recipe = try CLI.tinyRecipe(in: dir)
        expectFailure(try CLI.run(["train", recipe, "--set", "training.steps=many"]), mentions: ["--set training.steps"])
    }

    /// A negative number is a value that gets a range error, with the usage exit code 64, and
    /// a recipe past a limit (here nesting) is a recipe error, 65.
    @Test func negativeNumbersAreRangeErrorsAndLimitsAreRecipeErrors() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let recipe = try CLI.tinyRecipe(in: dir)
        for (arguments, message) in [(["sample", "--checkpoint", "c.safetensors", "--prompt", "a", "--tokens", "-5"], "--tokens must be at least 1, got -5"),
                                     (["sample", "--checkpoint", "c.safetensors", "--prompt", "a", "--temperature", "-1"], "--temperature must be ≥ 0, got -1.0"),
                                     (["train", recipe, "--stop-after", "-1"], "--stop-after must be at least 1, got -1")] {
            let r = try CLI.run(arguments)
            expectFailure(r, mentions: [message])
            #expect(r.status == 64, "\(r.all)")
        }
        let nested = try CLI.run(["train", recipe, "--set", "training.steps=" + String(repeating: "[", count: 100_000)])
        expectFailure(nested, mentions: ["--set training.steps", "nest more than 64 deep"])
        #expect(nested.status == 65, "\(nested.all)")
    }

    /// Data too small to split: one image (none left to train on), and text shorter than a
    /// window; each refusal names the data key and the file, with no crash.
    @Test func dataTooSmallToSplitNamesTheFile() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "0,0,5,13,9,1,0,0,0,0,13,15,10,15,5,0,0,3,15,2,0,11,8,0,0,4,12,0,0,8,8,0,0,5,8,0,0,9,8,0,0,4,11,0,1,12,7,0,0,2,14,5,10,12,0,0,0,0,6,13,10,0,0,0,0\n"
            .write(toFile: "\(dir)/one.csv", atomically: true, encoding: .utf8)
        let images = try DenoiseTests.recipe(in: dir, objectives: "  - plugin: denoise\n    config: {patch: 2}\n", data: "  images: \(dir)/one.csv")
        expectFailure(try CLI.run(["train", images]), mentions: ["data.images: \(dir)/one.csv holds 1 image: 0 to train on and 1 held out", "each part needs at least one"])
        try "To be, or not".write(toFile: "\(dir)/short.txt", atomically: true, encoding: .utf8)
        let text = try String(contentsOfFile: CLI.tinyRecipe(in: dir), encoding: .utf8).replacingOccurrences(of: "\(CLI.root)/data/shakespeare/*.txt", with: "\(dir)/short.txt")
        try text.write(toFile: "\(dir)/short.yaml", atomically: true, encoding: .utf8)
        expectFailure(try CLI.run(["train", "\(dir)/short.yaml"]),
                      mentions: ["data.text: the held-out part of the text (short.txt: 13 bytes) has 2 bytes, fewer than one window of 33"])
    }

    /// Values each legal but absurd together are refused before any allocation, naming the
    /// keys that drive the estimate with their places, the estimate and the limit; a recipe
    /// that fits shows its estimate in `recipe check`.
    @Test func aRunThatCannotFitIsRefusedByItsEstimate() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let recipe = try CLI.tinyRecipe(in: dir)
        for (set, key) in [("model.d_model=1000000", "model.d_model = 1000000 (--set model.d_model)"),
                           ("model.layers=1000000", "model.layers = 1000000 (--set model.layers)"),
                           ("training.batch_size=1000000000", "training.batch_size = 1000000000 (--set training.batch_size)"),
                           ("model.mlp_ratio=100000000", "model.mlp_ratio = 100000000 (--set model.mlp_ratio)"),
                           ("training.eval_batches=1000000000000", "training.eval_batches = 1000000000000 (--set training.eval_batches)")] {
            let r = try CLI.run(["train", recipe, "--set", set])
            expectFailure(r, mentions: ["tiny.yaml: the run needs more memory than it may use: estimated ", "over the limit of ", key])
            #expect(r.status == 65, "\(r.all)")
        }
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/run"), "a refused run must not create its folder")
        // Under a limit of 1 MiB the shipped shape is refused too, naming the places in the file.
        let small = try CLI.run(["train", recipe], environment: ["HYBRID_MEMORY_LIMIT": "1M"])
        expectFailure(small, mentions: ["over the limit of 1.0 MiB (HYBRID_MEMORY_LIMIT)", "model.d_model = 32 (\(dir)/tiny.yaml:2:"])
        let badLimit = try CLI.run(["train", recipe], environment: ["HYBRID_MEMORY_LIMIT": "lots"])
        expectFailure(badLimit, mentions: ["HYBRID_MEMORY_LIMIT is \"lots\"; expected a size in bytes, like 8589934592 or 8G"])
        let check = try CLI.run(["recipe", "check", recipe])
        #expect(check.status == 0 && check.stdout.contains("# memory: estimated ") && check.stdout.contains("the limit is "), "\(check.all)")
        // A checkpoint whose stored recipe describes an enormous model is refused before its
        // parameters are allocated.
        let recipeText = try String(contentsOfFile: recipe, encoding: .utf8).replacingOccurrences(of: "d_model: 32", with: "d_model: 3000000")
        let store = ParameterStore()
        _ = try store.declare("w", shape: [2], initializer: .zeros, decay: false)
        store.materialize(seed: 1)
        try Checkpoint.write(store, metadata: ["recipe": recipeText, "step": "1"], to: "\(dir)/huge.safetensors")
        let huge = try CLI.run(["sample", "--checkpoint", "\(dir)/huge.safetensors", "--prompt", "a"])
        expectFailure(huge, mentions: ["huge.safetensors: the run needs more memory than it may use", "model.d_model = 3000000"])
        #expect(huge.status == 65, "\(huge.all)")
    }

    @Test func samplingFromAMissingOrDamagedCheckpoint() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        expectFailure(try CLI.run(["sample", "--checkpoint", "\(dir)/none.safetensors", "--prompt", "a"]), mentions: ["none.safetensors"])
        try Data(repeating: 7, count: 100).write(to: URL(fileURLWithPath: "\(dir)/junk.safetensors"))
        expectFailure(try CLI.run(["sample", "--checkpoint", "\(dir)/junk.safetensors", "--prompt", "a"]), mentions: ["junk.safetensors"])
    }
}
