// Linear: out = x·wᵀ + b against a triple loop; dx, dw, db against finite differences.

import HybridCPU
import HybridTestSupport
import Testing

@Suite("Linear")
struct LinearTests {
    static func forward(_ x: [Float], _ w: [Float], _ b: [Float]?, N: Int, K: Int, M: Int) -> [Float] {
        let xs = Buffer(x), ws = Buffer(w), bs = b.map(Buffer.init), out = Buffer(repeating: Float.nan, count: N * M)
        withExtendedLifetime((xs, ws, bs)) { Linear.forward(out: out.p, x: xs.p, weight: ws.p, bias: bs?.p, N: N, K: K, M: M) }
        return out.array
    }

    struct Grads { var dx: [Float]?, dw: [Float]?, db: [Float]? }

    static func backward(_ dout: [Float], _ x: [Float], _ w: [Float], into g: Grads, N: Int, K: Int, M: Int) -> Grads {
        let d = Buffer(dout), xs = Buffer(x), ws = Buffer(w)
        let dx = g.dx.map(Buffer.init), dw = g.dw.map(Buffer.init), db = g.db.map(Buffer.init)
        withExtendedLifetime((d, xs, ws)) {
            Linear.backward(dx: dx?.p, dweight: dw?.p, dbias: db?.p, dout: d.p, x: xs.p, weight: ws.p, N: N, K: K, M: M)
        }
        return Grads(dx: dx?.array, dw: dw?.array, db: db?.array)
    }

    static func zeros(N: Int, K: Int, M: Int) -> Grads {
        Grads(dx: .init(repeating: 0, count: N * K), dw: .init(repeating: 0, count: M * K), db: .init(repeating: 0, count: M))
    }

    @Test("forward matches a triple loop", arguments: [(7, 5, 6), (1, 1, 1), (33, 64, 17)], [true, false])
    func reference(shape: (Int, Int, Int), withBias: Bool) {
        let (N, K, M) = shape
        var rng = SeededRNG(seed: 51)
        let x = rng.uniform(count: N * K), w = rng.uniform(count: M * K), b = rng.uniform(count: M)
        let out = Self.forward(x, w, withBias ? b : nil, N: N, K: K, M: M)
        var expected = [Float](repeating: 0, count: N * M)
        for i in 0..<N {
            for j in 0..<M {
                var s = withBias ? Double(b[j]) : 0
                for k in 0..<K { s += Double(x[i * K + k]) * Double(w[j * K + k]) }
                expected[i * M + j] = Float(s)
            }
        }
        #expect(nmse(out, expected) < 1e-12, "N=\(N) K=\(K) M=\(M) bias=\(withBias)")
    }

    @Test("backward matches finite differences")
    func gradients() {
        var rng = SeededRNG(seed: 52)
        let N = 7, K = 5, M = 6
        let x = rng.uniform(count: N * K), w = rng.uniform(count: M * K), b = rng.uniform(count: M), r = rng.uniform(count: N * M)
        let g = Self.backward(r, x, w, into: Self.zeros(N: N, K: K, M: M), N: N, K: K, M: M)
        let checks = [
            ("dx", gradientCheck(x, g.dx!, r: r) { Self.forward($0, w, b, N: N, K: K, M: M) }),
            ("dw", gradientCheck(w, g.dw!, r: r) { Self.forward(x, $0, b, N: N, K: K, M: M) }),
            ("db", gradientCheck(b, g.db!, r: r) { Self.forward(x, w, $0, N: N, K: K, M: M) }),
        ]
        for (name, check) in checks { #expect(check.normalizedError < 5e-3, "\(name): \(check)") }
    }

    @Test("backward accumulates and skips nil gradients")
    func accumulates() {
        var rng = SeededRNG(seed: 53)
        let N = 9, K = 4, M = 3
        let x = rng.uniform(count: N * K), w = rng.uniform(count: M * K), r = rng.uniform(count: N * M)
        let once = Self.backward(r, x, w, into: Self.zeros(N: N, K: K, M: M), N: N, K: K, M: M)
        let twice = Self.backward(r, x, w, into: once, N: N, K: K, M: M)
        #expect(isDoubled(twice.dx, once.dx))
        #expect(isDoubled(twice.dw, once.dw))
        #expect(isDoubled(twice.db, once.db))
        let onlyW = Self.backward(r, x, w, into: Grads(dw: .init(repeating: 0, count: M * K)), N: N, K: K, M: M)
        #expect(onlyW.dx == nil && onlyW.db == nil && onlyW.dw == once.dw)
    }
}
