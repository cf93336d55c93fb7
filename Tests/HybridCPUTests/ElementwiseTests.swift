// Add, Mul, Scale, GELU: forward against a Double reference, backward against finite
// differences, accumulation, and the two-core path (n above Parallel.minimumWork).

import Foundation
import HybridCPU
import HybridTestSupport
import Testing

/// An elementwise op as the tests see it: arrays in, arrays out.
struct ElementwiseCase: CustomTestStringConvertible, Sendable {
    let name: String
    let arity: Int
    /// Runs the kernel forward.
    let forward: @Sendable (_ inputs: [[Float]]) -> [Float]
    /// Runs the kernel backward from `grads` (starting values) and returns them.
    let backward: @Sendable (_ inputs: [[Float]], _ dout: [Float], _ grads: [[Float]]) -> [[Float]]
    /// The op on one element, in Double.
    let reference: @Sendable (_ args: [Double]) -> Double
    var testDescription: String { name }

    static let scaleFactor: Float = -0.75

    static let all: [ElementwiseCase] = [
        ElementwiseCase(name: "Add", arity: 2, forward: { a in
            let x = Buffer(a[0]), y = Buffer(a[1]), out = Buffer(zeros: a[0].count)
            withExtendedLifetime((x, y)) { Add.forward(out: out.p, a: x.p, b: y.p, n: out.count) }
            return out.array
        }, backward: { _, dout, grads in
            let d = Buffer(dout), da = Buffer(grads[0]), db = Buffer(grads[1])
            withExtendedLifetime(d) { Add.backward(da: da.p, db: db.p, dout: d.p, n: d.count) }
            return [da.array, db.array]
        }, reference: { $0[0] + $0[1] }),

        ElementwiseCase(name: "Mul", arity: 2, forward: { a in
            let x = Buffer(a[0]), y = Buffer(a[1]), out = Buffer(zeros: a[0].count)
            withExtendedLifetime((x, y)) { Mul.forward(out: out.p, a: x.p, b: y.p, n: out.count) }
            return out.array
        }, backward: { a, dout, grads in
            let x = Buffer(a[0]), y = Buffer(a[1]), d = Buffer(dout), da = Buffer(grads[0]), db = Buffer(grads[1])
            withExtendedLifetime((x, y, d)) { Mul.backward(da: da.p, db: db.p, dout: d.p, a: x.p, b: y.p, n: d.count) }
            return [da.array, db.array]
        }, reference: { $0[0] * $0[1] }),

        ElementwiseCase(name: "Scale", arity: 1, forward: { a in
            let x = Buffer(a[0]), out = Buffer(zeros: a[0].count)
            withExtendedLifetime(x) { Scale.forward(out: out.p, x: x.p, s: scaleFactor, n: out.count) }
            return out.array
        }, backward: { _, dout, grads in
            let d = Buffer(dout), dx = Buffer(grads[0])
            withExtendedLifetime(d) { Scale.backward(dx: dx.p, dout: d.p, s: scaleFactor, n: d.count) }
            return [dx.array]
        }, reference: { Double(scaleFactor) * $0[0] }),

        ElementwiseCase(name: "GELU", arity: 1, forward: { a in
            let x = Buffer(a[0]), out = Buffer(zeros: a[0].count)
            withExtendedLifetime(x) { GELU.forward(out: out.p, x: x.p, n: out.count) }
            return out.array
        }, backward: { a, dout, grads in
            let x = Buffer(a[0]), d = Buffer(dout), dx = Buffer(grads[0])
            withExtendedLifetime((x, d)) { GELU.backward(dx: dx.p, x: x.p, dout: d.p, n: d.count) }
            return [dx.array]
        }, reference: { args in
            let x = args[0]
            return 0.5 * x * (1 + tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
        }),
    ]
}

@Suite("Elementwise kernels")
struct ElementwiseTests {
    @Test("forward matches a Double reference", arguments: ElementwiseCase.all, [1, 7, 40_001])
    func forward(op: ElementwiseCase, n: Int) {
        var rng = SeededRNG(seed: 11)
        let inputs = (0..<op.arity).map { _ in rng.uniform(count: n, scale: 3) }
        let out = op.forward(inputs)
        let expected = (0..<n).map { i in Float(op.reference(inputs.map { Double($0[i]) })) }
        #expect(nmse(out, expected) < 1e-12, "\(op.name) n=\(n)")
    }

    @Test("backward matches finite differences", arguments: ElementwiseCase.all)
    func gradients(op: ElementwiseCase) {
        var rng = SeededRNG(seed: 12)
        let n = 13
        let inputs = (0..<op.arity).map { _ in rng.uniform(count: n, scale: 3) }
        let r = rng.uniform(count: n)
        let grads = op.backward(inputs, r, Array(repeating: [Float](repeating: 0, count: n), count: op.arity))
        for k in 0..<op.arity {
            let check = gradientCheck(inputs[k], grads[k], r: r) { x in
                var perturbed = inputs
                perturbed[k] = x
                return op.forward(perturbed)
            }
            #expect(check.normalizedError < 5e-3, "\(op.name) input \(k): \(check)")
        }
    }

    @Test("backward accumulates, on one core and on two", arguments: ElementwiseCase.all, [13, 40_001])
    func accumulates(op: ElementwiseCase, n: Int) {
        var rng = SeededRNG(seed: 13)
        let inputs = (0..<op.arity).map { _ in rng.uniform(count: n, scale: 3) }
        let r = rng.uniform(count: n)
        let zeros = Array(repeating: [Float](repeating: 0, count: n), count: op.arity)
        let once = op.backward(inputs, r, zeros)
        let twice = op.backward(inputs, r, once)
        for k in 0..<op.arity {
            #expect(isDoubled(twice[k], once[k]), "\(op.name) input \(k)")
        }
    }

    @Test("GELU and its derivative match Double over a wide range, tails included")
    func geluRange() {
        var rng = SeededRNG(seed: 14)
        let x: [Float] = [-20, -10, -5, -1e-3, -1e-6, 0, 1e-6, 1e-3, 5, 10, 20] + rng.uniform(count: 50, scale: 8)
        let ones = [Float](repeating: 1, count: x.count)
        let out = ElementwiseCase.all[3].forward([x])
        let slope = ElementwiseCase.all[3].backward([x], ones, [.init(repeating: 0, count: x.count)])[0]
        let beta = (2 / Double.pi).squareRoot(), kappa = 0.044715
        for (i, v) in x.map(Double.init).enumerated() {
            let t = tanh(beta * (v + kappa * v * v * v))
            let value = 0.5 * v * (1 + t)
            let derivative = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * beta * (1 + 3 * kappa * v * v)
            #expect(abs(Double(out[i]) - value) <= 3e-7 * max(1, abs(v)), "gelu(\(v)) = \(out[i]), expected \(value)")
            #expect(abs(Double(slope[i]) - derivative) <= 3e-7 * max(1, v * v), "gelu'(\(v)) = \(slope[i]), expected \(derivative)")
        }
    }

    @Test("Add and Mul accept one buffer for both gradients (out = x + x, x * x)")
    func aliasedGradients() {
        let x: [Float] = [1, -2, 3], r: [Float] = [0.5, 1, -1]
        let add = ElementwiseCase.all[0].backward([x, x], r, [[0, 0, 0], [0, 0, 0]])
        let xs = Buffer(x), d = Buffer(r), sum = Buffer(zeros: 3), product = Buffer(zeros: 3)
        withExtendedLifetime((xs, d)) {
            Add.backward(da: sum.p, db: sum.p, dout: d.p, n: 3)
            Mul.backward(da: product.p, db: product.p, dout: d.p, a: xs.p, b: xs.p, n: 3)
        }
        #expect(sum.array == plus(add[0], add[1]))
        #expect(product.array == [1, -4, -6])
    }

    @Test("nil gradients are skipped")
    func nilGradients() {
        let a = Buffer<Float>([1, 2]), b = Buffer<Float>([3, 4]), d = Buffer<Float>([1, 1]), g = Buffer(zeros: 2)
        withExtendedLifetime((a, b, d)) {
            Add.backward(da: nil, db: g.p, dout: d.p, n: 2)
            Mul.backward(da: g.p, db: nil, dout: d.p, a: a.p, b: b.p, n: 2)
        }
        #expect(g.array == [4, 5])
    }
}
