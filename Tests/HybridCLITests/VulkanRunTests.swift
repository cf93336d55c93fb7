import Foundation
import Testing

/// The Vulkan backend through the CLI: a whole hybrid run against the CPU, and the refusals
/// where Vulkan is missing. scripts/test selects lavapipe with VK_DRIVER_FILES.
@Suite(.serialized) struct VulkanRunTests {
    /// "step  k/N  causal L  masked L  denoise L …" → the losses, per step.
    static func stepLosses(_ out: String) -> [[Double]] {
        out.split(separator: "\n").filter { $0.hasPrefix("step ") }.map { line in
            let words = line.split(separator: " ")
            return ["causal", "masked", "denoise"].compactMap { name in
                words.firstIndex(of: Substring(name)).flatMap { Double(words[$0 + 1]) }
            }
        }
    }

    /// 30 steps of the bundled hybrid recipe (causal + masked + denoise) from one seed, shapes
    /// shrunk for lavapipe: every printed loss agrees within 1e-3 relative at every step; with
    /// `precision: mixed` (bfloat16 activations) within 1e-2.
    @Test func aHybridRunMatchesTheCPUStepByStep() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var losses: [String: [[Double]]] = [:]
        for run in ["cpu", "vulkan", "vulkan mixed"] {
            let device = String(run.prefix { $0 != " " }), precision = run.hasSuffix("mixed") ? "mixed" : "fp32"
            let r = try CLI.run(["train", CLI.root + "/recipes/hybrid-tiny.yaml", "--sample-tokens", "0",
                                 "--set", "device=\(device)", "--set", "precision=\(precision)", "--set", "training.steps=30", "--set", "training.log_every=1",
                                 "--set", "training.eval_every=1000", "--set", "model.seq_len=32", "--set", "training.batch_size=2",
                                 "--set", "objectives[2].batch_size=4", "--set", "training.output=\(dir)/\(device)-\(precision)"])
            #expect(r.status == 0, "\(r.all)")
            losses[run] = Self.stepLosses(r.stdout)
            if device == "vulkan" { #expect(r.stdout.contains("device: vulkan"), "\(r.stdout)") }
        }
        let cpu = try #require(losses["cpu"])
        for (run, tolerance) in [("vulkan", 1e-3), ("vulkan mixed", 1e-2)] {
            let vulkan = try #require(losses[run])
            #expect(cpu.count == 30 && vulkan.count == 30 && cpu.allSatisfy { $0.count == 3 }, "\(cpu) \(vulkan)")
            for (step, (c, v)) in zip(cpu, vulkan).enumerated() {
                for (a, b) in zip(c, v) {
                    #expect(abs(a - b) <= tolerance * abs(a), "step \(step + 1): cpu \(c) \(run) \(v)")
                }
            }
        }
    }

    @Test func vulkanWithoutALoaderIsAClearErrorAndAutoFallsBackToTheCPU() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let recipe = try CLI.tinyRecipe(in: dir)
        let missing = ["HYBRID_VULKAN_LOADER": dir + "/no-such/libvulkan.so.1"]
        let refused = try CLI.run(["train", recipe, "--set", "device=vulkan"], environment: missing)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("no Vulkan loader") && refused.stderr.contains("libvulkan.so.1") && refused.stderr.contains("device: cpu"),
                "\(refused.all)")
        let auto = try CLI.run(["train", recipe, "--set", "device=auto", "--set", "training.steps=2", "--sample-tokens", "0"], environment: missing)
        #expect(auto.status == 0, "\(auto.all)")
        #expect(auto.stdout.contains("device: cpu") && auto.stdout.contains("no Vulkan loader"), "\(auto.stdout)")
    }

    @Test func vulkanWithoutADeviceIsAClearError() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let recipe = try CLI.tinyRecipe(in: dir)
        let r = try CLI.run(["train", recipe, "--set", "device=vulkan"], environment: ["VK_DRIVER_FILES": dir + "/no-driver.json"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("device: vulkan") && r.stderr.contains("mesa-vulkan-drivers"), "\(r.all)")
    }

    /// The loader is opened at run time, never linked: the binary starts where there is none.
    @Test func theBinaryDoesNotLinkTheVulkanLoader() throws {
        let text = try CLI.dynamicSection()
        #expect(text.contains("NEEDED"), "\(text)")
        #expect(!text.contains("libvulkan"), "\(text)")
    }
}
