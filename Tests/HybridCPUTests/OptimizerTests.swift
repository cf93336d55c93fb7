// AdamW against torch.optim.AdamW's update written out in Double; GradNorm against direct sums.

import Foundation
import HybridCPU
import HybridTestSupport
import Testing

@Suite("AdamW and GradNorm")
struct OptimizerTests {
    @Test("AdamW follows torch's update for several steps", arguments: [5, 40_001])
    func adamW(n: Int) {
        let lr: Float = 1e-2, beta1: Float = 0.9, beta2: Float = 0.95, eps: Float = 1e-8, wd: Float = 0.1
        var rng = SeededRNG(seed: 91)
        let start = rng.uniform(count: n)
        let params = Buffer(start), m = Buffer(zeros: n), v = Buffer(zeros: n)
        var p = start.map(Double.init), mRef = [Double](repeating: 0, count: n), vRef = mRef
        for t in 1...4 {
            let grads = Buffer(rng.normal(count: n))
            AdamW.update(params: params.p, grads: grads.p, m: m.p, v: v.p, n: n,
                         lr: lr, beta1: beta1, beta2: beta2, eps: eps, weightDecay: wd, step: t)
            let (l, b1, b2) = (Double(lr), Double(beta1), Double(beta2))
            for i in 0..<n {
                let g = Double(grads.p[i])
                p[i] *= 1 - l * Double(wd)
                mRef[i] = b1 * mRef[i] + (1 - b1) * g
                vRef[i] = b2 * vRef[i] + (1 - b2) * g * g
                let mHat = mRef[i] / (1 - pow(b1, Double(t))), vHat = vRef[i] / (1 - pow(b2, Double(t)))
                p[i] -= l * mHat / (vHat.squareRoot() + Double(eps))
            }
        }
        #expect(maxAbsDifference(params.array, p.map { Float($0) }) < 1e-5)
        #expect(nmse(m.array, mRef.map { Float($0) }) < 1e-12)
        #expect(nmse(v.array, vRef.map { Float($0) }) < 1e-12)
    }

    @Test("sumOfSquares matches a Double sum; scale multiplies in place", arguments: [0, 3, 17, 100_003])
    func gradNorm(n: Int) {
        var rng = SeededRNG(seed: 92)
        let x = rng.normal(count: n)
        let buffer = Buffer(x)
        let expected = x.reduce(0.0) { $0 + Double($1) * Double($1) }
        #expect(abs(GradNorm.sumOfSquares(x: buffer.p, n: n) - expected) <= 1e-12 * max(1, expected), "n=\(n)")
        GradNorm.scale(x: buffer.p, n: n, s: 0.25)
        #expect(buffer.array == times(0.25, x))
    }
}

@Suite("Test support")
struct TestSupportTests {
    @Test("the RNG is deterministic and in range")
    func rng() {
        var a = SeededRNG(seed: 7), b = SeededRNG(seed: 7)
        let u = a.uniform(count: 1000)
        #expect(u == b.uniform(count: 1000))
        #expect(u.allSatisfy { $0 >= -1 && $0 < 1 })
        let z = a.normal(count: 20_000).map(Double.init)
        let mean = z.reduce(0, +) / Double(z.count)
        let variance = z.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(z.count)
        #expect(abs(mean) < 0.05 && abs(variance - 1) < 0.05)
    }

    @Test("checkGradient accepts the right gradient and rejects a wrong one")
    func gradientCheck() {
        let x: [Float] = [0.3, -1.2, 2]
        let f: ([Float]) -> Double = { x in x.reduce(0.0) { $0 + sin(Double($1)) } }
        let right = x.map { Float(cos(Double($0))) }
        #expect(checkGradient(at: x, analytic: right, loss: f).normalizedError < 1e-4)
        var wrong = right
        wrong[1] += 0.1
        let check = checkGradient(at: x, analytic: wrong, loss: f)
        #expect(check.normalizedError > 0.05 && check.worstIndex == 1, "\(check)")
    }
}
