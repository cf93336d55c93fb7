import Foundation
import HybridCore
import HybridCPU
import HybridNN
import HybridTrain
import Testing

/// `hybrid export` writes a trained checkpoint as model.safetensors, config.json and
/// recipe.yaml, and `python/hybrid_numpy.py` rebuilds the byte model from that folder alone:
/// its logits match hybrid's own within 1e-4 relative.
@Suite struct ExportTests {
    @Test func numpyReadsTheExportedModelAndMatchesHybridsLogits() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let recipe = try CLI.tinyRecipe(in: dir, objectives: "  - plugin: causal\n  - plugin: masked\n    weight: 0.5\n")
        let trained = try CLI.run(["train", recipe, "--sample-tokens", "0", "--set", "model.layers=2"])
        #expect(trained.status == 0, "\(trained.all)")
        let checkpoint = dir + "/run/checkpoint-000040.safetensors", folder = dir + "/export"
        let export = try CLI.run(["export", "--checkpoint", checkpoint, "--output", folder])
        #expect(export.status == 0 && export.stdout.contains("wrote \(folder)"), "\(export.all)")

        // The parameters, and nothing of the optimizer.
        let source = try Checkpoint.read(checkpoint), exported = try Checkpoint.read(folder + "/model.safetensors")
        #expect(Set(exported.tensors.keys) == Set(source.tensors.keys.filter { !$0.hasPrefix("optimizer.") }))
        for name in exported.tensors.keys { #expect(exported.values(name) == source.values(name), "\(name)") }
        let config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/config.json"))) as? [String: Any])
        #expect(config["d_model"] as? Int == 32 && config["layers"] as? Int == 2 && config["heads"] as? Int == 2 && config["step"] as? Int == 40)
        #expect(FileManager.default.fileExists(atPath: folder + "/recipe.yaml"))

        // Hybrid's causal logits over a window, then numpy's from the folder.
        let text = "ROMEO:\nBut soft, what light"
        let ids = text.utf8.map(Int32.init)
        let recipeRead = try source.recipe(checkpoint: checkpoint, requireData: false)
        let instance = try RunSetup.instances(for: recipeRead, file: checkpoint)[0]
        let parameters = ParameterStore()
        let backbone = Backbone(config: RunSetup.backboneConfig(recipeRead.model))
        let sampler = try TextSampler(instance: instance, parameters: parameters, backbone: backbone, seqLen: recipeRead.model.seqLen,
                                      settings: .init(), kvCache: false)
        parameters.materialize(seed: 0)
        try Checkpoint.load(source, into: parameters, path: checkpoint)
        try sampler.compile(on: CPUBackend())
        let hybrid = try sampler.logits(of: ids)

        let out = dir + "/numpy.f32"
        let numpy = try CLI.run([CLI.root + "/python/hybrid_numpy.py", folder, "--text", text, "--logits-out", out], executable: "/usr/bin/python3")
        #expect(numpy.status == 0, "\(numpy.all)")
        let data = try Data(contentsOf: URL(fileURLWithPath: out))
        let reference = data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in Array(raw.bindMemory(to: Float.self)) }
        #expect(reference.count == ids.count * 256 && hybrid.count == reference.count, "\(reference.count) and \(hybrid.count) logits")
        let scale = reference.map(abs).max() ?? 0, worst = zip(hybrid, reference).map { abs($0 - $1) }.max() ?? .infinity
        #expect(scale > 1 && worst <= 1e-4 * scale, "largest difference \(worst) against logits up to \(scale)")
    }

    @Test func exportingWhatIsNotACheckpointNamesTheFile() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "not a checkpoint".write(toFile: dir + "/bad.safetensors", atomically: true, encoding: .utf8)
        let bad = try CLI.run(["export", "--checkpoint", dir + "/bad.safetensors"])
        #expect(bad.status != 0 && bad.stderr.contains("\(dir)/bad.safetensors: not a valid safetensors checkpoint"), "\(bad.all)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/bad-export"))
    }
}
