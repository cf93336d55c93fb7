import Foundation
import Testing

/// Several objectives on one backbone, and objectives that drop in as plain-C libraries.
@Suite(.serialized) struct MixtureTests {
    /// Compiles a C plugin with the system compiler, outside SwiftPM, into `folder`.
    static func compile(_ source: String, name: String, into folder: String) throws -> String {
        let output = "\(folder)/libhybrid-objective-\(name).so"
        let cc = Process()
        cc.executableURL = URL(fileURLWithPath: "/usr/bin/cc")
        cc.arguments = ["-O2", "-shared", "-fPIC", "-Wall", "-Werror", "-Wno-unused-parameter",
                        "-I", CLI.root + "/Sources/CHybridPlugin/include", source, "-o", output]
        try cc.run()
        cc.waitUntilExit()
        try #require(cc.terminationStatus == 0, "cc failed on \(source)")
        return output
    }

    static func evalLines(_ out: String) -> [Substring] {
        out.split(separator: "\n").filter { $0.hasPrefix("eval step") }
    }

    /// "name L nats" → L, from an eval line.
    static func loss(_ line: Substring, _ name: String) -> Double? {
        guard let range = line.range(of: "\(name) ") else { return nil }
        return Double(line[range.upperBound...].split(separator: " ")[0])
    }

    @Test func theExampleCPluginDropsInAndLearns() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try Self.compile(CLI.root + "/Plugins/PrefixLMObjective/prefix_lm.c", name: "prefix_lm", into: dir)
        let env = ["HYBRID_PLUGIN_PATH": dir]
        let listing = try CLI.run(["plugins"], environment: env)
        #expect(listing.stdout.contains("prefix_lm 1.0.0"), "\(listing.stdout)")
        #expect(listing.stdout.contains("prefix: int = 32"), "\(listing.stdout)")
        let recipe = try CLI.tinyRecipe(in: dir, objectives: "  - plugin: prefix_lm\n    config: {prefix: 8}\n")
        let r = try CLI.run(["train", recipe, "--sample-tokens", "0"], environment: env)
        #expect(r.status == 0, "\(r.all)")
        let evals = Self.evalLines(r.stdout)
        let first = try #require(evals.first.flatMap { Self.loss($0, "prefix_lm") })
        let last = try #require(evals.last.flatMap { Self.loss($0, "prefix_lm") })
        #expect(last < first - 1, "prefix_lm validation loss did not fall: \(first) -> \(last)")
    }

    @Test(arguments: ["sum", "sample"])
    func causalAndMaskedShareOneBackbone(mixing: String) throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let recipe = try CLI.tinyRecipe(in: dir, extra: "mixing: \(mixing)\n",
                                        objectives: "  - plugin: causal\n  - plugin: masked\n    weight: 0.5\n")
        let r = try CLI.run(["train", recipe, "--sample-tokens", "0"])
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stdout.contains("causal (weight 1.0), masked (weight 0.5), mixing \(mixing)"), "\(r.stdout)")
        let evals = Self.evalLines(r.stdout)
        #expect(evals.count == 3)
        for name in ["causal", "masked"] {
            let first = try #require(evals.first.flatMap { Self.loss($0, name) })
            let last = try #require(evals.last.flatMap { Self.loss($0, name) })
            #expect(last < first - 1, "\(mixing): \(name) validation loss did not fall: \(first) -> \(last)")
        }
        #expect(evals.last!.contains("accuracy"))

        // The masked objective fills in text; the causal one continues it.
        let checkpoint = "\(dir)/run/checkpoint-000040.safetensors"
        let text = "To be, or [MASK][MASK][MASK] to be"
        let filled = try CLI.run(["sample", "--checkpoint", checkpoint, "--infill", text, "--temperature", "0"])
        #expect(filled.status == 0, "\(filled.all)")
        let out = filled.stdout.trimmingCharacters(in: .newlines)
        #expect(out.utf8.count == 19 && !out.contains("[MASK]") && out.hasPrefix("To be, or ") && out.hasSuffix(" to be"), "\(out)")
        #expect(filled.stderr.contains("filling 3 masked bytes with masked"), "\(filled.stderr)")
        let continued = try CLI.run(["sample", "--checkpoint", checkpoint, "--prompt", "To be", "--tokens", "5"])
        #expect(continued.stderr.contains("with causal"), "\(continued.stderr)")
        let noMask = try CLI.run(["sample", "--checkpoint", checkpoint, "--infill", "no masks here"])
        #expect(noMask.status != 0 && noMask.stderr.contains("no [MASK] to fill"), "\(noMask.all)")
    }

    /// A plugin whose prepare_batch fails mid-run: the run stops with the plugin's message,
    /// and the checkpoints written before stay whole.
    @Test func aPluginFailingMidRunStopsTheRunAndKeepsCheckpoints() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let source = "\(dir)/flaky.c"
        try """
        #include "hybrid_plugin.h"
        static int calls;
        static hybrid_status create(const hybrid_create_info *i, void **s, hybrid_error *e) { *s = 0; return HYBRID_OK; }
        static void destroy(void *s) {}
        static hybrid_status prepare(void *s, const hybrid_batch_request *r, hybrid_batch *b, hybrid_error *e) {
            if (++calls > 27) return hybrid_fail(e, "the data source went away after %d batches", calls - 1);
            for (int i = 0; i < r->batch_size * r->seq_len; i++) {
                int row = i / r->seq_len, t = i % r->seq_len;
                b->tokens[i] = r->text[row * (r->seq_len + 1) + t];
                b->targets[i] = r->text[row * (r->seq_len + 1) + t + 1];
                b->loss_weights[i] = 1;
            }
            return HYBRID_OK;
        }
        static hybrid_status build(void *s, const hybrid_host_api *api, hybrid_graph *g, const hybrid_build_info *in,
                                   hybrid_build_result *out, hybrid_error *e) {
            hybrid_tensor logits = api->linear(g, api->backbone(g, api->token_embedding(g, in->tokens), HYBRID_MASK_CAUSAL, 0),
                                               "head", HYBRID_BYTE_VOCAB, 0);
            out->output = logits;
            if (in->mode == HYBRID_BUILD_TRAIN) out->loss = api->cross_entropy(g, logits, in->targets, in->loss_weights);
            return api->graph_status(g, e);
        }
        static const hybrid_objective_functions f = { HYBRID_STRUCT_HEADER(hybrid_objective_functions), create, destroy, prepare, build, 0 };
        static const hybrid_objective_descriptor d = { HYBRID_STRUCT_HEADER(hybrid_objective_descriptor), "flaky", "0.1", "fails mid-run",
                                                       0, 0, HYBRID_DATA_TEXT, 1, &f };
        hybrid_status hybrid_objective_entry(const hybrid_host_info *h, const hybrid_objective_descriptor **out, hybrid_error *e) {
            *out = &d; return HYBRID_OK;
        }
        """.write(toFile: source, atomically: true, encoding: .utf8)
        let library = try Self.compile(source, name: "flaky", into: dir)
        let recipe = try CLI.tinyRecipe(in: dir, extra: "", objectives: "  - plugin: \(library)\n")
        // 2 validation batches, then one per step: the 26th step's batch fails.
        let r = try CLI.run(["train", recipe, "--set", "checkpoint.every=10"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("step 26"), "\(r.stderr)")
        #expect(r.stderr.contains("the data source went away after 27 batches"), "\(r.stderr)")
        let listing = try FileManager.default.contentsOfDirectory(atPath: "\(dir)/run").sorted()
        #expect(listing == ["checkpoint-000010.safetensors", "checkpoint-000020.safetensors", "metrics.jsonl", "recipe.yaml"], "\(listing)")
        let s = try CLI.run(["sample", "--checkpoint", "\(dir)/run/checkpoint-000020.safetensors", "--prompt", "a"])
        // The flaky objective cannot sample, but the checkpoint itself must read back whole.
        #expect(s.stderr.contains("no objective can continue text"), "\(s.all)")
    }
}
