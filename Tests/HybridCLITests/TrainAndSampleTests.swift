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

/// What a run leaves to read: metrics.jsonl and the plot drawn from it.
@Suite struct MetricsAndPlotTests {
    @Test func aRunWritesMetricsAndPlotDrawsThem() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let recipe = try CLI.tinyRecipe(in: dir)
        let r = try CLI.run(["train", recipe, "--sample-tokens", "0"])
        #expect(r.status == 0, "\(r.all)")
        let lines = try String(contentsOfFile: dir + "/run/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        let objects = try lines.map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        // 40 steps, log_every 10, eval_every 20: train lines at 10..40, evaluations at 0, 20, 40.
        let train = objects.filter { $0["kind"] as? String == "train" }, evals = objects.filter { $0["kind"] as? String == "eval" }
        #expect(train.map { $0["step"] as? Int } == [10, 20, 30, 40])
        #expect(evals.map { $0["step"] as? Int } == [0, 20, 40])
        for t in train {
            #expect((t["loss"] as? [String: Double])?["causal"] != nil && t["lr"] is Double && t["grad_norm"] is Double
                    && t["tokens_per_s"] is Double && t["wall_s"] is Double, "\(t)")
        }
        #expect((evals.last?["accuracy"] as? [String: Double])?["causal"] != nil)
        let plot = try CLI.run(["plot", dir + "/run"])
        #expect(plot.status == 0, "\(plot.all)")
        let png = try Data(contentsOf: URL(fileURLWithPath: dir + "/run/loss.png"))
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        let missing = try CLI.run(["plot", dir + "/nowhere"])
        #expect(missing.status != 0 && missing.stderr.contains("nowhere"), "\(missing.all)")

        // hybrid eval scores the final checkpoint on the same held-out batches as training's last evaluation.
        let finalLoss = try #require((evals.last?["loss"] as? [String: Double])?["causal"])
        let e = try CLI.run(["eval", "--checkpoint", dir + "/run/checkpoint-000040.safetensors"])
        #expect(e.status == 0 && e.stdout.contains("perplexity"), "\(e.all)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/run/checkpoint-000040.eval.json"))) as? [String: Any])
        let causal = try #require(report["causal"] as? [String: Double])
        #expect(causal["nats"] == finalLoss, "\(causal) vs \(finalLoss)")
        #expect(abs((causal["perplexity"] ?? 0) - exp(finalLoss)) < 1e-9 && causal["bits_per_byte"] != nil && causal["accuracy"] != nil)
        let other = try CLI.run(["eval", "--checkpoint", dir + "/run/checkpoint-000040.safetensors", "--set", "data.text=[\"\(dir)/none/*.txt\"]"])
        #expect(other.status != 0 && other.stderr.contains("none/*.txt"), "\(other.all)")
    }

    /// Top-p, stop strings and streaming on a small trained model.
    @Test func samplingWithTopPStopStringsAndStreaming() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let recipe = try CLI.tinyRecipe(in: dir)
        #expect(try CLI.run(["train", recipe, "--sample-tokens", "0"]).status == 0)
        let checkpoint = dir + "/run/checkpoint-000040.safetensors"
        func sample(_ extra: [String]) throws -> String {
            let r = try CLI.run(["sample", "--checkpoint", checkpoint, "--prompt", "The ", "--tokens", "80", "--seed", "5"] + extra)
            #expect(r.status == 0, "\(r.all)")
            return r.stdout
        }
        // A nucleus of 1% of the mass holds only the likeliest byte: greedy decoding.
        #expect(try sample(["--top-p", "0.01"]) == (try sample(["--temperature", "0"])))
        let whole = try sample([]), streamed = try sample(["--stream"])
        #expect(whole == streamed, "streaming changes when bytes appear, not which")
        #expect(whole == (try sample(["--no-kv-cache"])), "the key/value cache changes the speed, not the bytes")
        let generated = String(whole.dropFirst("The ".count))
        let stop = String(generated.dropFirst(10).prefix(2))
        let cut = try sample(["--stop", stop, "--stream"])
        let expected = "The " + String(generated[..<generated.range(of: stop)!.lowerBound]) + "\n"
        #expect(cut == expected, "stopped at the first \(stop.debugDescription): \(cut.debugDescription) vs \(expected.debugDescription)")
    }
}
