// Embedding: row lookup forward, scatter-add backward (repeated ids add up).

import HybridCPU
import HybridTestSupport
import Testing

@Suite("Embedding")
struct EmbeddingTests {
    static func forward(_ table: [Float], ids: [Int32], C: Int) -> [Float] {
        let t = Buffer(table), i = Buffer(ids), out = Buffer(zeros: ids.count * C)
        withExtendedLifetime((t, i)) { Embedding.forward(out: out.p, ids: i.p, table: t.p, N: ids.count, C: C) }
        return out.array
    }

    static func backward(_ dout: [Float], ids: [Int32], dtable: [Float], C: Int) -> [Float] {
        let d = Buffer(dout), i = Buffer(ids), g = Buffer(dtable)
        withExtendedLifetime((d, i)) { Embedding.backward(dtable: g.p, dout: d.p, ids: i.p, N: ids.count, C: C) }
        return g.array
    }

    @Test("forward gathers rows; backward scatter-adds them", arguments: [(7, 5, 4), (300, 130, 50), (20, 3, 1)])
    func reference(N: Int, C: Int, V: Int) {
        var rng = SeededRNG(seed: 41)
        let table = rng.uniform(count: V * C), ids = rng.int32s(count: N, below: V), r = rng.uniform(count: N * C)
        let out = Self.forward(table, ids: ids, C: C)
        #expect(out == ids.flatMap { table[Int($0) * C ..< (Int($0) + 1) * C] })
        var expected = [Double](repeating: 0, count: V * C)
        for i in 0..<N { for c in 0..<C { expected[Int(ids[i]) * C + c] += Double(r[i * C + c]) } }
        let dtable = Self.backward(r, ids: ids, dtable: .init(repeating: 0, count: V * C), C: C)
        #expect(nmse(dtable, expected.map { Float($0) }) < 1e-12, "N=\(N) C=\(C) V=\(V)")
    }

    @Test("backward matches finite differences and accumulates")
    func gradients() {
        var rng = SeededRNG(seed: 42)
        let N = 7, C = 5, V = 4
        let table = rng.uniform(count: V * C), ids: [Int32] = [0, 2, 2, 1, 0, 2, 3], r = rng.uniform(count: N * C)
        let once = Self.backward(r, ids: ids, dtable: .init(repeating: 0, count: V * C), C: C)
        let check = gradientCheck(table, once, r: r) { Self.forward($0, ids: ids, C: C) }
        #expect(check.normalizedError < 5e-3, "\(check)")
        #expect(isDoubled(Self.backward(r, ids: ids, dtable: once, C: C), once))
    }
}
