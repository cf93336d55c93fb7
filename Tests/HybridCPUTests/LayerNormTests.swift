// LayerNorm: forward against a Double reference (biased variance, eps 1e-5), backward against
// finite differences, the two-core paths, accumulation and nil gradients.

import HybridCPU
import HybridTestSupport
import Testing

@Suite("LayerNorm")
struct LayerNormTests {
    static let eps: Float = 1e-5

    struct Forward { var out: [Float], mean: [Float], rstd: [Float] }

    static func forward(_ x: [Float], _ w: [Float], _ b: [Float], N: Int, C: Int) -> Forward {
        let xs = Buffer(x), ws = Buffer(w), bs = Buffer(b)
        let out = Buffer(zeros: N * C), mean = Buffer(zeros: N), rstd = Buffer(zeros: N)
        withExtendedLifetime((xs, ws, bs)) {
            LayerNorm.forward(out: out.p, mean: mean.p, rstd: rstd.p, x: xs.p, weight: ws.p, bias: bs.p, N: N, C: C, eps: eps)
        }
        return Forward(out: out.array, mean: mean.array, rstd: rstd.array)
    }

    struct Grads { var dx: [Float]?, dw: [Float]?, db: [Float]? }

    static func backward(_ dout: [Float], _ x: [Float], _ w: [Float], _ b: [Float], into g: Grads, N: Int, C: Int) -> Grads {
        let saved = forward(x, w, b, N: N, C: C)
        let d = Buffer(dout), xs = Buffer(x), ws = Buffer(w), mean = Buffer(saved.mean), rstd = Buffer(saved.rstd)
        let dx = g.dx.map(Buffer.init), dw = g.dw.map(Buffer.init), db = g.db.map(Buffer.init)
        withExtendedLifetime((d, xs, ws, mean, rstd)) {
            LayerNorm.backward(dx: dx?.p, dweight: dw?.p, dbias: db?.p, dout: d.p, x: xs.p, weight: ws.p,
                               mean: mean.p, rstd: rstd.p, N: N, C: C)
        }
        return Grads(dx: dx?.array, dw: dw?.array, db: db?.array)
    }

    static func zeros(N: Int, C: Int) -> Grads {
        Grads(dx: .init(repeating: 0, count: N * C), dw: .init(repeating: 0, count: C), db: .init(repeating: 0, count: C))
    }

    static func inputs(N: Int, C: Int, seed: UInt64) -> (x: [Float], w: [Float], b: [Float], r: [Float]) {
        var rng = SeededRNG(seed: seed)
        return (rng.normal(count: N * C, mean: 0.5, std: 2), rng.normal(count: C, mean: 1, std: 0.3),
                rng.uniform(count: C), rng.uniform(count: N * C))
    }

    @Test("forward matches a Double reference", arguments: [(7, 5), (1, 1), (3, 37), (300, 130)])
    func reference(N: Int, C: Int) {
        let (x, w, b, _) = Self.inputs(N: N, C: C, seed: 61)
        let result = Self.forward(x, w, b, N: N, C: C)
        var out = [Float](repeating: 0, count: N * C), mean = [Float](), rstd = [Float]()
        for i in 0..<N {
            let row = x[i * C ..< (i + 1) * C].map(Double.init)
            let m = row.reduce(0, +) / Double(C)
            let v = row.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(C)
            let r = 1 / (v + Double(Self.eps)).squareRoot()
            mean.append(Float(m))
            rstd.append(Float(r))
            for c in 0..<C { out[i * C + c] = Float((row[c] - m) * r * Double(w[c]) + Double(b[c])) }
        }
        #expect(nmse(result.out, out) < 1e-11, "out N=\(N) C=\(C)")
        #expect(nmse(result.mean, mean) < 1e-11, "mean N=\(N) C=\(C)")
        #expect(nmse(result.rstd, rstd) < 1e-11, "rstd N=\(N) C=\(C)")
    }

    @Test("backward matches finite differences", arguments: [(7, 5), (2, 19)])
    func gradients(N: Int, C: Int) {
        let (x, w, b, r) = Self.inputs(N: N, C: C, seed: 62)
        let g = Self.backward(r, x, w, b, into: Self.zeros(N: N, C: C), N: N, C: C)
        let checks = [
            ("dx", gradientCheck(x, g.dx!, r: r) { Self.forward($0, w, b, N: N, C: C).out }),
            ("dw", gradientCheck(w, g.dw!, r: r) { Self.forward(x, $0, b, N: N, C: C).out }),
            ("db", gradientCheck(b, g.db!, r: r) { Self.forward(x, w, $0, N: N, C: C).out }),
        ]
        for (name, check) in checks { #expect(check.normalizedError < 5e-3, "\(name) N=\(N) C=\(C): \(check)") }
    }

    @Test("two-core backward matches finite differences at sampled coordinates")
    func largeGradients() {
        let N = 260, C = 144
        let (x, w, b, r) = Self.inputs(N: N, C: C, seed: 63)
        let g = Self.backward(r, x, w, b, into: Self.zeros(N: N, C: C), N: N, C: C)
        var rng = SeededRNG(seed: 64)
        let rows = (0..<12).map { _ in Int(rng.next() % UInt64(N * C)) }
        let channels = (0..<12).map { _ in Int(rng.next() % UInt64(C)) }
        let checks = [
            ("dx", gradientCheck(x, g.dx!, r: r, indices: rows) { Self.forward($0, w, b, N: N, C: C).out }),
            ("dw", gradientCheck(w, g.dw!, r: r, indices: channels) { Self.forward(x, $0, b, N: N, C: C).out }),
            ("db", gradientCheck(b, g.db!, r: r, indices: channels) { Self.forward(x, w, $0, N: N, C: C).out }),
        ]
        for (name, check) in checks { #expect(check.normalizedError < 5e-3, "\(name): \(check)") }
    }

    @Test("backward accumulates and skips nil gradients", arguments: [(7, 5), (260, 144)])
    func accumulates(N: Int, C: Int) {
        let (x, w, b, r) = Self.inputs(N: N, C: C, seed: 65)
        let once = Self.backward(r, x, w, b, into: Self.zeros(N: N, C: C), N: N, C: C)
        let twice = Self.backward(r, x, w, b, into: once, N: N, C: C)
        #expect(isDoubled(twice.dx, once.dx))
        #expect(isDoubled(twice.dw, once.dw))
        #expect(isDoubled(twice.db, once.db))
        let onlyDx = Self.backward(r, x, w, b, into: Grads(dx: .init(repeating: 0, count: N * C)), N: N, C: C)
        #expect(onlyDx.dx == once.dx && onlyDx.dw == nil && onlyDx.db == nil)
        let onlyDb = Self.backward(r, x, w, b, into: Grads(db: .init(repeating: 0, count: C)), N: N, C: C)
        #expect(onlyDb.db == once.db && onlyDb.dx == nil)
    }
}
