// AddBroadcast: a row vector added to every row; dy is a column sum.

import HybridCPU
import HybridTestSupport
import Testing

@Suite("AddBroadcast")
struct AddBroadcastTests {
    static func forward(_ x: [Float], _ y: [Float], R: Int, n: Int) -> [Float] {
        let xs = Buffer(x), ys = Buffer(y), out = Buffer(zeros: R * n)
        withExtendedLifetime((xs, ys)) { AddBroadcast.forward(out: out.p, x: xs.p, y: ys.p, R: R, n: n) }
        return out.array
    }

    static func backward(_ dout: [Float], dx: [Float]?, dy: [Float]?, R: Int, n: Int) -> (dx: [Float]?, dy: [Float]?) {
        let d = Buffer(dout), gx = dx.map(Buffer.init), gy = dy.map(Buffer.init)
        withExtendedLifetime(d) { AddBroadcast.backward(dx: gx?.p, dy: gy?.p, dout: d.p, R: R, n: n) }
        return (gx?.array, gy?.array)
    }

    @Test("forward and column-sum backward match a Double reference", arguments: [(1, 1), (7, 5), (3, 200), (130, 300)])
    func reference(R: Int, n: Int) {
        var rng = SeededRNG(seed: 21)
        let x = rng.uniform(count: R * n), y = rng.uniform(count: n), r = rng.uniform(count: R * n)
        let out = Self.forward(x, y, R: R, n: n)
        #expect(out == (0..<R * n).map { x[$0] + y[$0 % n] })
        let grads = Self.backward(r, dx: .init(repeating: 0, count: R * n), dy: .init(repeating: 0, count: n), R: R, n: n)
        #expect(grads.dx == r)
        let columnSums = (0..<n).map { j in Float((0..<R).reduce(0.0) { $0 + Double(r[$1 * n + j]) }) }
        #expect(nmse(grads.dy!, columnSums) < 1e-10, "R=\(R) n=\(n)")
    }

    @Test("backward matches finite differences")
    func gradients() {
        var rng = SeededRNG(seed: 22)
        let R = 7, n = 5
        let x = rng.uniform(count: R * n), y = rng.uniform(count: n), r = rng.uniform(count: R * n)
        let grads = Self.backward(r, dx: .init(repeating: 0, count: R * n), dy: .init(repeating: 0, count: n), R: R, n: n)
        let checkX = gradientCheck(x, grads.dx!, r: r) { Self.forward($0, y, R: R, n: n) }
        let checkY = gradientCheck(y, grads.dy!, r: r) { Self.forward(x, $0, R: R, n: n) }
        #expect(checkX.normalizedError < 5e-3, "dx: \(checkX)")
        #expect(checkY.normalizedError < 5e-3, "dy: \(checkY)")
    }

    @Test("backward accumulates and skips nil gradients", arguments: [(7, 5), (130, 300)])
    func accumulates(R: Int, n: Int) {
        var rng = SeededRNG(seed: 23)
        let r = rng.uniform(count: R * n)
        let once = Self.backward(r, dx: .init(repeating: 0, count: R * n), dy: .init(repeating: 0, count: n), R: R, n: n)
        let twice = Self.backward(r, dx: once.dx, dy: once.dy, R: R, n: n)
        #expect(isDoubled(twice.dx, once.dx))
        #expect(isDoubled(twice.dy, once.dy))
        let onlyY = Self.backward(r, dx: nil, dy: .init(repeating: 0, count: n), R: R, n: n)
        #expect(onlyY.dx == nil && onlyY.dy == once.dy)
    }
}

@Suite("Mean")
struct MeanTests {
    static func forward(_ x: [Float]) -> Float {
        let xs = Buffer(x), out = Buffer(zeros: 1)
        withExtendedLifetime(xs) { Mean.forward(out: out.p, x: xs.p, n: xs.count) }
        return out.array[0]
    }

    @Test("forward matches a Double sum", arguments: [0, 1, 7, 33, 100_003])
    func reference(n: Int) {
        var rng = SeededRNG(seed: 31)
        let x = rng.uniform(count: n, scale: 2)
        let expected = n == 0 ? 0 : Float(x.reduce(0.0) { $0 + Double($1) } / Double(n))
        #expect(abs(Self.forward(x) - expected) <= 1e-6 * max(1, abs(expected)), "n=\(n)")
    }

    @Test("backward matches finite differences and accumulates")
    func gradients() {
        var rng = SeededRNG(seed: 32)
        let n = 9, x = rng.uniform(count: n), dloss: Float = 0.6
        let dx = Buffer(zeros: n)
        Mean.backward(dx: dx.p, dout: dloss, n: n)
        let once = dx.array
        let check = checkGradient(at: x, analytic: once) { Double(Self.forward($0)) * Double(dloss) }
        #expect(check.normalizedError < 5e-3, "\(check)")
        Mean.backward(dx: dx.p, dout: dloss, n: n)
        #expect(isDoubled(dx.array, once))
    }
}
