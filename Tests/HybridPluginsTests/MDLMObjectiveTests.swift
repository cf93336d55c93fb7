import CHybridPlugin
import HybridCore
import HybridPlugins
import Testing

/// The masked-diffusion objective as built by SwiftPM, beside the test executable.
@Suite("The masked-diffusion objective plugin")
struct MDLMObjectiveTests {
    func mdlm() throws -> LoadedPlugin {
        let folder = try #require(PluginSearchPath.executableFolder())
        return try PluginLoader.load("mdlm", searchPath: PluginSearchPath(entries: [.init(folder: folder, origin: .executable)]))
    }

    /// Window b of B is masked at a level t_b drawn from [b/B, (b+1)/B) (stratified), every
    /// masked byte is [MASK] (absorbing) with weight 1/t_b, every other byte untouched with
    /// weight 0; the targets are the text.
    @Test func eachWindowIsMaskedAtItsOwnLevelWithWeightOneOverIt() throws {
        let instance = try ObjectiveInstance(plugin: mdlm(), setup: ObjectiveSetup(dModel: 16, seqLen: 512, seed: 7))
        let rng = UnsafeMutablePointer<RandomStream>.allocate(capacity: 1)
        defer { rng.deallocate() }
        rng.initialize(to: RandomStream(seed: 3))
        let B = 8, T = 512
        let text = String(decoding: (0..<(B * T)).map { UInt8(32 + ($0 * 7919) % 90) }, as: UTF8.self)
        let bytes = Array(text.utf8)
        let batch = try instance.prepare(text, batchSize: B, seqLen: T, rng: rng)
        #expect(batch.targets == bytes.map(Int32.init))
        for b in 0..<B {
            let rows = (b * T)..<((b + 1) * T)
            let masked = rows.filter { batch.tokens[$0] == HYBRID_TOKEN_MASK }
            for i in rows where batch.tokens[i] != HYBRID_TOKEN_MASK {
                #expect(batch.tokens[i] == Int32(bytes[i]) && batch.weights[i] == 0)
            }
            let weights = Set(masked.map { batch.weights[$0] })
            #expect(weights.count <= 1, "one level per window: \(weights)")
            guard let w = weights.first else { continue }
            let t = 1 / Double(w), fraction = Double(masked.count) / Double(T)
            #expect(t >= Double(b) / Double(B) - 1e-6 && t < Double(b + 1) / Double(B) + 1e-6, "window \(b): level \(t)")
            // A binomial fraction of 512 at level t: within 4.5 standard deviations.
            #expect(abs(fraction - t) < 4.5 * (t * (1 - t) / Double(T)).squareRoot() + 1e-3, "window \(b): \(fraction) masked at level \(t)")
        }
        // The mean of Σ w over windows is the positions (E[masked/t] = T): the ELBO's normaliser.
        let meanWeight = batch.weights.reduce(0.0) { $0 + Double($1) } / Double(B * T)
        #expect(abs(meanWeight - 1) < 0.15, "mean weight per position \(meanWeight)")
    }

    @Test func itsKeysAreCheckedAtTheirNodes() throws {
        let plugin = try mdlm()
        #expect(plugin.canContinueText && plugin.canInfill)
        for bad in ["min_level: 0\n", "min_level: 1\n", "levels: sorted\n", "sample_steps: 0\n"] {
            #expect(throws: (any Error).self, "\(bad)") {
                try ObjectiveInstance(plugin: plugin, recipeConfig: bad, setup: ObjectiveSetup(dModel: 16, seqLen: 32, seed: 1))
            }
        }
    }
}
