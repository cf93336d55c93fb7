import CHybridPlugin
import HybridCore
import HybridPlugins
import HybridRecipe
import Testing

/// The masked objective as built by SwiftPM, beside the test executable.
@Suite("The masked objective plugin")
struct MaskedObjectiveTests {
    func masked() throws -> LoadedPlugin {
        let folder = try #require(PluginSearchPath.executableFolder())
        let searchPath = PluginSearchPath(entries: [.init(folder: folder, origin: .executable)])
        return try PluginLoader.load("masked", searchPath: searchPath)
    }

    /// 64 windows of 128 bytes of varied text.
    static let text: String = {
        var bytes: [UInt8] = []
        for i in 0..<(64 * 128) { bytes.append(UInt8(32 + (i * 7919) % 90)) }
        return String(decoding: bytes, as: UTF8.self)
    }()

    struct Counts {
        var chosen = 0, masked = 0, randomized = 0, kept = 0, total = 0
    }

    func counts(_ batch: PreparedBatch) -> Counts {
        var c = Counts()
        let bytes = Array(Self.text.utf8)
        for i in batch.tokens.indices {
            c.total += 1
            #expect(batch.targets[i] == Int32(bytes[i]), "targets are the original text")
            guard batch.weights[i] == 1 else {
                #expect(batch.weights[i] == 0 && batch.tokens[i] == Int32(bytes[i]), "unchosen positions are untouched")
                continue
            }
            c.chosen += 1
            if batch.tokens[i] == HYBRID_TOKEN_MASK { c.masked += 1 } else if batch.tokens[i] == Int32(bytes[i]) { c.kept += 1 } else { c.randomized += 1 }
        }
        return c
    }

    @Test("15% chosen, of those 80% [MASK], 10% random, 10% kept; fresh masks every draw")
    func corruption() throws {
        let instance = try ObjectiveInstance(plugin: masked(), setup: ObjectiveSetup(dModel: 16, seqLen: 128, seed: 7))
        let rng = UnsafeMutablePointer<RandomStream>.allocate(capacity: 1)
        defer { rng.deallocate() }
        rng.initialize(to: RandomStream(seed: 1))
        let a = try instance.prepare(Self.text, batchSize: 64, seqLen: 128, rng: rng)
        let c = counts(a)
        let chosen = Double(c.chosen) / Double(c.total)
        #expect(abs(chosen - 0.15) < 0.01, "chosen \(chosen)")
        #expect(abs(Double(c.masked) / Double(c.chosen) - 0.8) < 0.03, "\(c)")
        // A random byte may equal the original (1 in 256): "kept" is 10% plus a sliver.
        #expect(abs(Double(c.randomized) / Double(c.chosen) - 0.1) < 0.02, "\(c)")
        #expect(abs(Double(c.kept) / Double(c.chosen) - 0.1) < 0.02, "\(c)")
        let b = try instance.prepare(Self.text, batchSize: 64, seqLen: 128, rng: rng)
        #expect(a.weights != b.weights, "the same window is masked afresh each time it is drawn")
    }

    @Test("the masking rate follows its schedule over the run")
    func dynamicRate() throws {
        let instance = try ObjectiveInstance(plugin: masked(), recipeConfig: "rate_schedule: linear\nrate_end: 0.45\n",
                                             setup: ObjectiveSetup(dModel: 16, seqLen: 128, seed: 7))
        let rng = UnsafeMutablePointer<RandomStream>.allocate(capacity: 1)
        defer { rng.deallocate() }
        rng.initialize(to: RandomStream(seed: 2))
        for (progress, rate) in [(Float(0), 0.15), (0.5, 0.30), (1, 0.45)] {
            let c = counts(try instance.prepare(Self.text, batchSize: 64, seqLen: 128, rng: rng, progress: progress))
            #expect(abs(Double(c.chosen) / Double(c.total) - rate) < 0.015, "progress \(progress): \(c)")
        }
    }

    @Test("a bad schedule name is refused at its node, with the choices")
    func badSchedule() throws {
        let plugin = try masked()
        #expect(throws: RecipeErrors.self) {
            try ObjectiveInstance(plugin: plugin, recipeConfig: "rate_schedule: sideways\n",
                                  setup: ObjectiveSetup(dModel: 16, seqLen: 128, seed: 7))
        }
    }

    @Test("it declares its keys and fills in masks")
    func descriptor() throws {
        let plugin = try masked()
        #expect(plugin.name == "masked")
        #expect(plugin.windowExtra == 0)
        #expect(plugin.configKeys.map(\.name) == ["rate", "mask_fraction", "random_fraction", "rate_schedule", "rate_end"])
        #expect(plugin.canInfill && !plugin.canContinueText)
    }
}
