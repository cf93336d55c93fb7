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

    /// Unmasking 12 masks after a 4-byte prompt in K = 4 steps over a scripted model whose
    /// confidence rises with the position (byte 65 + i at position i): every step fixes 3
    /// masks, each to the picked byte; `confident` fixes the 3 last positions first, `random`
    /// positions the sampling stream draws, the same for a seed and others for other seeds.
    @Test(arguments: ["confident", "random"]) func unmaskingFixesAnEvenShareEachStepInItsOrder(order: String) throws {
        let instance = try ObjectiveInstance(plugin: mdlm(), recipeConfig: "unmask_order: \(order)\n",
                                             setup: ObjectiveSetup(dModel: 16, seqLen: 16, seed: 1))
        let V = Int(HYBRID_BYTE_VOCAB)
        /// The positions each step fixed, in step order, and the bytes emitted.
        func run(seed: UInt64) throws -> (steps: [[Int]], emitted: [Int32]) {
            var windows: [[Int32]] = [], emitted: [Int32] = []
            let context = SamplerContext(
                forward: { ids, count, all, logits in
                    #expect(all && count == 16)
                    windows.append(Array(UnsafeBufferPointer(start: ids, count: count)))
                    logits.update(repeating: 0, count: count * V)
                    for i in 0..<count { logits[i * V + 65 + i] = Float(i) }
                },
                pick: { logits, n in Int32((0..<n).max { logits[$0] < logits[$1] }!) },
                emit: { emitted.append($0) })
            let rng = UnsafeMutablePointer<RandomStream>.allocate(capacity: 1)
            defer { rng.deallocate() }
            rng.initialize(to: RandomStream(seed: seed))
            try instance.sample(api: HostAPI.table, sampler: context.handle, prompt: [1, 2, 3, 4], newTokens: 12, seqLen: 16, steps: 4,
                                rng: OpaquePointer(rng))
            windows.append([1, 2, 3, 4] + emitted)
            let fixed = zip(windows, windows.dropFirst()).map { before, after in
                (0..<16).filter { before[$0] == HYBRID_TOKEN_MASK && after[$0] != HYBRID_TOKEN_MASK }
            }
            return (fixed, emitted)
        }
        let first = try run(seed: 5)
        #expect(first.steps.map(\.count) == [3, 3, 3, 3], "\(first.steps)")
        #expect(first.emitted == (4..<16).map { Int32(65 + $0) })
        let likeliestFirst = [[13, 14, 15], [10, 11, 12], [7, 8, 9], [4, 5, 6]]
        if order == "confident" {
            #expect(first.steps == likeliestFirst)
        } else {
            let again = try run(seed: 5).steps
            #expect(first.steps != likeliestFirst && again == first.steps)
            let others = try (6..<10).map { try run(seed: $0).steps }
            #expect(others.contains { $0 != first.steps }, "\(others)")
        }
    }

    @Test func itsKeysAreCheckedAtTheirNodes() throws {
        let plugin = try mdlm()
        #expect(plugin.canContinueText && plugin.canInfill)
        for bad in ["min_level: 0\n", "min_level: 1\n", "levels: sorted\n", "sample_steps: 0\n", "unmask_order: left\n"] {
            #expect(throws: (any Error).self, "\(bad)") {
                try ObjectiveInstance(plugin: plugin, recipeConfig: bad, setup: ObjectiveSetup(dModel: 16, seqLen: 32, seed: 1))
            }
        }
    }
}
