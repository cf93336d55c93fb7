import CHybridPlugin
import Foundation
import HybridPlugins
import Testing

/// The causal objective as built by SwiftPM: `libhybrid-objective-causal.so` beside the test
/// executable. `swift test` alone does not build that product; `swift build` does.
@Suite("The causal objective plugin")
struct CausalObjectiveTests {
    static let fileName = "libhybrid-objective-causal.so"

    /// The built plugin, found the way `hybrid` finds it: beside the executable.
    func causal() throws -> LoadedPlugin? {
        let folder = try #require(PluginSearchPath.executableFolder())
        let searchPath = PluginSearchPath(entries: [.init(folder: folder, origin: .executable)])
        guard (try? searchPath.resolve("causal")) != nil else {
            let advice = "build the product first: swift build --scratch-path <this build folder> "
                + "--product hybrid-objective-causal"
            Issue.record("\(Self.fileName) is not in \(folder); \(advice)")
            return nil
        }
        return try PluginLoader.load("causal", searchPath: searchPath)
    }

    @Test("its descriptor")
    func descriptor() throws {
        guard let plugin = try causal() else { return }
        #expect(plugin.origin == .executable)
        #expect(plugin.name == "causal")
        #expect(plugin.version == "1.0.0")
        #expect(plugin.abiVersion == PluginABI.host)
        #expect(plugin.dataKind == .text)
        #expect(plugin.windowExtra == 1)
        #expect(plugin.configKeys.isEmpty)
        #expect(plugin.canSample)
        #expect(!plugin.summary.isEmpty)
    }

    @Test("prepare_batch shifts each window by one, with weight 1 everywhere")
    func prepareBatch() throws {
        guard let plugin = try causal() else { return }
        let instance = try ObjectiveInstance(plugin: plugin, setup: ObjectiveSetup(dModel: 16, seqLen: 4, seed: 7))
        let batch = try instance.prepare("hello\u{7F}\u{1}xyz", batchSize: 2, seqLen: 4)
        #expect(batch.tokens == [104, 101, 108, 108, 127, 1, 120, 121])
        #expect(batch.targets == [101, 108, 108, 111, 1, 120, 121, 122])
        #expect(batch.weights == Array(repeating: 1, count: 8))
    }

    @Test("build: embedding → causal backbone → head → cross-entropy when training",
          arguments: [ObjectiveBuildMode.train, .infer])
    func build(mode: ObjectiveBuildMode) throws {
        guard let plugin = try causal() else { return }
        let instance = try ObjectiveInstance(plugin: plugin, setup: ObjectiveSetup(dModel: 16, seqLen: 4, seed: 7))
        let host = FakeHost()
        let inputs = ObjectiveBuildInputs(mode: mode, batchSize: 2, seqLen: 4, dModel: 16,
                                          tokens: 1, targets: 2, lossWeights: 3)
        let outputs = try instance.build(api: host.api, graph: host.handle, inputs: inputs)
        var expected = ["100 = token_embedding(1)",
                        "101 = backbone(100, mask \(HYBRID_MASK_CAUSAL.rawValue), prefix 0)",
                        "102 = linear(101, head, 256, bias 0)"]
        if mode == .train { expected.append("103 = cross_entropy(102, 2, 3)") }
        #expect(host.ops == expected)
        #expect(outputs.output == 102)
        #expect(outputs.loss == (mode == .train ? 103 : nil))
    }

    @Test("build surfaces the graph's error")
    func buildError() throws {
        guard let plugin = try causal() else { return }
        let instance = try ObjectiveInstance(plugin: plugin, setup: ObjectiveSetup(dModel: 16, seqLen: 4, seed: 7))
        let host = FakeHost()
        host.graphError = "linear head: x has 3 dims, expected 2 or 3"
        let inputs = ObjectiveBuildInputs(mode: .train, batchSize: 2, seqLen: 4, dModel: 16,
                                          tokens: 1, targets: 2, lossWeights: 3)
        #expect(throws: PluginError.pluginFailed(path: plugin.path, function: "build",
                                                 message: "linear head: x has 3 dims, expected 2 or 3")) {
            try instance.build(api: host.api, graph: host.handle, inputs: inputs)
        }
    }

    @Test("sample: a forward pass per token over the last seq_len tokens, each pick emitted")
    func sample() throws {
        guard let plugin = try causal() else { return }
        let instance = try ObjectiveInstance(plugin: plugin, setup: ObjectiveSetup(dModel: 16, seqLen: 4, seed: 7))
        let host = FakeHost()
        try instance.sample(api: host.api, sampler: host.handle, prompt: [1, 2, 3, 4, 5, 6],
                            newTokens: 3, seqLen: 4)
        #expect(host.contexts == [[3, 4, 5, 6], [4, 5, 6, 7], [5, 6, 7, 8]])
        #expect(host.emitted == [7, 8, 9])

        #expect(throws: PluginError.pluginFailed(
            path: plugin.path, function: "sample",
            message: "sample: the causal objective needs a prompt of at least one token")) {
            try instance.sample(api: host.api, sampler: host.handle, prompt: [], newTokens: 1, seqLen: 4)
        }
    }
}
