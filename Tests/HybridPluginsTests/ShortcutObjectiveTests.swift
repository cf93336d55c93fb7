import CHybridPlugin
import Foundation
import HybridCore
import HybridPlugins
import Testing

/// The shortcut objective as built by SwiftPM, beside the test executable, with a scripted own
/// model standing in for the network.
@Suite("The shortcut objective plugin")
struct ShortcutObjectiveTests {
    func shortcut() throws -> LoadedPlugin {
        let folder = try #require(PluginSearchPath.executableFolder())
        return try PluginLoader.load("shortcut", searchPath: PluginSearchPath(entries: [.init(folder: folder, origin: .executable)]))
    }

    /// B = 8 grey 8×8 images (image b all c_b), 2×2 patches (L = 16, F = 4), d = 16, M = 8.
    static let (B, side, L, F, d, M) = (8, 8, 16, 4, 16, 8)

    /// The time input the objective documents: sinusoids of 1000 t, then of 1000 j / log2 M.
    static func time(t: Double, level j: Int) -> [Float] {
        func sinusoid(_ value: Float) -> [Float] {
            let half = d / 4
            let angles = (0..<half).map { value * expf(-Float(log(10000.0)) * Float($0) / Float(half)) }
            return angles.map(sinf) + angles.map(cosf)
        }
        return sinusoid(Float(1000 * t)) + sinusoid(Float(1000 * Double(j) / 3))
    }

    /// (t, j) of a time row: the one on the grid (t = i/M, j ≤ log2 M) that writes it.
    static func decode(_ row: ArraySlice<Float>) -> (t: Double, level: Int)? {
        for j in 0...3 {
            for i in 0..<(2 * M) where zip(time(t: Double(i) / Double(M) / 2, level: j), row).allSatisfy({ abs($0 - $1) < 1e-5 }) {
                return (Double(i) / Double(M) / 2, j)
            }
        }
        return nil
    }

    struct Prepared {
        var noisy, target, time, weights: [Float]
        /// Each run of the own model: its noisy and time inputs.
        var calls: [(noisy: [Float], time: [Float])]
    }

    /// prepare_batch with the own model f(x, ·) = x / 2.
    func prepare(share: Double, validation: Bool, seed: UInt64 = 3) throws -> Prepared {
        let (B, L, F, d) = (Self.B, Self.L, Self.F, Self.d)
        let instance = try ObjectiveInstance(plugin: shortcut(), recipeConfig: "base_steps: 8\nconsistency_share: \(share)\n",
                                             setup: ObjectiveSetup(dModel: d, seqLen: L, seed: 1))
        let images = (0..<B).flatMap { b in [Float](repeating: Float(b) / 4 - 0.9, count: Self.side * Self.side) }
        let labels = [Int32](repeating: 0, count: B)
        let noisy = UnsafeMutableBufferPointer<Float>.allocate(capacity: B * L * F), target = UnsafeMutableBufferPointer<Float>.allocate(capacity: B * L * F)
        let time = UnsafeMutableBufferPointer<Float>.allocate(capacity: B * L * d), weights = UnsafeMutableBufferPointer<Float>.allocate(capacity: B * L)
        defer { [noisy, target, time, weights].forEach { $0.deallocate() } }
        var calls: [(noisy: [Float], time: [Float])] = []
        let own = SamplerContext(run: { inputs, out in
            let rows = 4 * L * F   // R = 4 at share 0.5
            let x = inputs["noisy"]!
            calls.append((Array(UnsafeBufferPointer(start: x, count: rows)), Array(UnsafeBufferPointer(start: inputs["time"]!, count: 4 * L * d))))
            for i in 0..<rows { out[i] = x[i] / 2 }
        }, emitImage: { _ in })
        let rng = UnsafeMutablePointer<RandomStream>.allocate(capacity: 1)
        defer { rng.deallocate() }
        rng.initialize(to: RandomStream(seed: seed))
        try images.withUnsafeBufferPointer { images in
            try labels.withUnsafeBufferPointer { labels in
                try instance.prepareBatch(images: images.baseAddress!, labels: labels.baseAddress!, side: Self.side, channels: 1, batchSize: B,
                                          inputs: NamedInputs(["noisy": noisy, "target": target, "time": time, "weights": weights]),
                                          api: HostAPI.table, rng: OpaquePointer(rng), progress: 0, isValidation: validation, ownModel: own.handle)
            }
        }
        return Prepared(noisy: Array(noisy), target: Array(target), time: Array(time), weights: Array(weights), calls: calls)
    }

    /// Rows R...B−1 flow-match the finest step: x_t = (1 − t) ε + t x0 and target v = x0 − ε, so
    /// x_t + (1 − t) v = x0, at j = log2 M and t on the 1/M grid. Rows 0..<R learn step
    /// h = 2^−j from two half steps of the own model: its first run at (x_t, t, j + 1), its second
    /// at (x' = x_t + (h/2) f, t + h/2, j + 1), the target their mean — with f = x/2,
    /// x_t (1/2 + h/16). Every patch weighs 1.
    @Test func flowMatchingRowsAndSelfConsistencyRows() throws {
        let (B, L, F, d, M) = (Self.B, Self.L, Self.F, Self.d, Self.M)
        let p = try prepare(share: 0.5, validation: false)
        #expect(p.weights == [Float](repeating: 1, count: B * L))
        #expect(p.calls.count == 2)
        var levels: Set<Int> = []
        for b in 0..<B {
            let (t, j) = try #require(Self.decode(p.time[(b * L * d)..<(b * L * d + d)]), "row \(b)'s time input is off the grid")
            for k in 1..<L { #expect(Array(p.time[((b * L + k) * d)..<((b * L + k + 1) * d)]) == Array(p.time[(b * L * d)..<(b * L * d + d)])) }
            let x = p.noisy[(b * L * F)..<((b + 1) * L * F)], v = p.target[(b * L * F)..<((b + 1) * L * F)]
            if b >= 4 {
                #expect(j == 3 && (t * Double(M)).rounded() == t * Double(M) && t < 1, "row \(b): t \(t), j \(j)")
                let x0 = Float(b) / 4 - 0.9
                for (xk, vk) in zip(x, v) { #expect(abs(xk + Float(1 - t) * vk - x0) < 1e-5, "row \(b)") }
            } else {
                levels.insert(j)
                let h = 1 / Double(1 << j)
                #expect(j < 3 && (t / h).rounded() == t / h, "row \(b): t \(t) is no multiple of its step \(h)")
                for (xk, vk) in zip(x, v) { #expect(abs(vk - xk * Float(0.5 + h / 16)) < 1e-5, "row \(b)") }
                let first = p.calls[0], second = p.calls[1]
                #expect(Array(first.noisy[(b * L * F)..<((b + 1) * L * F)]) == Array(x))
                for (yk, xk) in zip(second.noisy[(b * L * F)..<((b + 1) * L * F)], x) { #expect(abs(yk - xk * Float(1 + h / 4)) < 1e-5) }
                let firstTime = try #require(Self.decode(first.time[(b * L * d)..<(b * L * d + d)]))
                let secondTime = try #require(Self.decode(second.time[(b * L * d)..<(b * L * d + d)]))
                #expect(firstTime.t == t && firstTime.level == j + 1)
                #expect(secondTime.t == t + h / 2 && secondTime.level == j + 1)
            }
        }
        #expect(!levels.isEmpty)
    }

    /// Held-out batches are all flow matching on the grid t_b = ⌊(2b + 1) M / 2B⌋ / M, and the own
    /// model never runs.
    @Test func validationBatchesFlowMatchOnAGrid() throws {
        let (B, L, d, M) = (Self.B, Self.L, Self.d, Self.M)
        let p = try prepare(share: 0.5, validation: true)
        #expect(p.calls.isEmpty)
        let grid = try (0..<B).map { b in try #require(Self.decode(p.time[(b * L * d)..<(b * L * d + d)])) }
        #expect(grid.map(\.t) == (0..<B).map { Double((2 * $0 + 1) * M / (2 * B)) / Double(M) })
        #expect(grid.allSatisfy { $0.level == 3 })
    }

    /// Share 0 is flow matching alone: no own model is needed or run.
    @Test func shareZeroIsFlowMatchingAlone() throws {
        let p = try prepare(share: 0, validation: false)
        #expect(p.calls.isEmpty)
        let (L, d) = (Self.L, Self.d)
        for b in 0..<Self.B { #expect(Self.decode(p.time[(b * L * d)..<(b * L * d + d)])?.level == 3) }
    }

    @Test func itsKeysAreCheckedAtTheirNodes() throws {
        let plugin = try shortcut()
        for bad in ["base_steps: 96\n", "base_steps: 1\n", "sample_steps: 3\n", "sample_steps: 256\n", "consistency_share: 1\n"] {
            #expect(throws: (any Error).self, "\(bad)") {
                try ObjectiveInstance(plugin: plugin, recipeConfig: bad, setup: ObjectiveSetup(dModel: 16, seqLen: 16, seed: 1))
            }
        }
    }
}
