// AdamW against torch.optim.AdamW's update written out in Double; GradNorm against direct sums.

import Foundation
import HybridCore
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
            let settings = AdamWSettings(learningRate: lr, beta1: beta1, beta2: beta2, eps: eps, weightDecay: wd)
            AdamW.update(params: params.p, grads: grads.p, m: m.p, v: v.p, n: n,
                         settings: settings, scalars: settings.scalars(step: t, decays: true))
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

    @Test("AdamW with bfloat16 moments tracks the fp32 step")
    func bfloat16Moments() {
        let n = 40_001
        let settings = AdamWSettings(learningRate: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1)
        var rng = SeededRNG(seed: 93)
        let start = rng.uniform(count: n)
        let exact = Buffer(start), m = Buffer(zeros: n), v = Buffer(zeros: n)
        let params = Buffer(start)
        let pairs = UnsafeMutablePointer<UInt32>.allocate(capacity: n)
        defer { pairs.deallocate() }
        pairs.initialize(repeating: 0, count: n)
        for t in 1...4 {
            let grads = Buffer(rng.normal(count: n)), c = settings.scalars(step: t, decays: true)
            AdamW.update(params: exact.p, grads: grads.p, m: m.p, v: v.p, n: n, settings: settings, scalars: c)
            AdamW.update(params: params.p, grads: grads.p, moments: pairs, n: n, first: 0, step: t, settings: settings, scalars: c)
        }
        let mHalf = (0..<n).map { BFloat16.float(UInt16(truncatingIfNeeded: pairs[$0])) }
        let vHalf = (0..<n).map { BFloat16.float(UInt16(truncatingIfNeeded: pairs[$0] >> 16)) }
        // One bfloat16 rounding is at most 2^-8 relative (NMSE ≈ 1e-5 stochastic); four steps compound a little.
        #expect(nmse(mHalf, m.array) < 1e-4)
        #expect(nmse(vHalf, v.array) < 1e-4)
        // Steps 2–4 read rounded moments: a stochastic rounding is off by under one bfloat16 step
        // (2^-7 relative) in m and half that in sqrt(v), so each step's size (at most about lr)
        // is off by under 1.2%.
        #expect(maxAbsDifference(params.array, exact.array) < 3 * 1e-2 * 0.012)
        #expect(nmse(params.array, exact.array) < 1e-8)
    }

    @Test("bfloat16 moments round stochastically: a second moment that nearest rounding would freeze follows β2 in mean")
    func stochasticRounding() {
        // v = 1 and g² = 2 at β2 = 0.999: v_t = 2 − 0.999^t. Each step adds 0.001, under half a
        // bfloat16 step at 1 (2^-8), so rounding to nearest keeps v at 1 forever.
        let n = 8192, steps = 100
        let settings = AdamWSettings(learningRate: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0)
        let params = Buffer(zeros: n), grads = Buffer([Float](repeating: Float(2).squareRoot(), count: n))
        let pairs = UnsafeMutablePointer<UInt32>.allocate(capacity: n)
        defer { pairs.deallocate() }
        pairs.initialize(repeating: UInt32(BFloat16.nearest(1)) << 16, count: n)
        for t in 1...steps {
            AdamW.update(params: params.p, grads: grads.p, moments: pairs, n: n, first: 0, step: t,
                         settings: settings, scalars: settings.scalars(step: t, decays: false))
        }
        let mean = (0..<n).reduce(0.0) { $0 + Double(BFloat16.float(UInt16(truncatingIfNeeded: pairs[$1] >> 16))) } / Double(n)
        let expected = 2 - pow(0.999, Double(steps))
        #expect(abs(mean - expected) / (expected - 1) < 0.02, "mean v \(mean), expected \(expected)")
    }

    @Test("bfloat16 rounding: nearest ties to even, NaN stays NaN")
    func bfloat16Rounding() {
        #expect(BFloat16.nearest(Float(bitPattern: 0x3F80_8000)) == 0x3F80)  // tie, even below
        #expect(BFloat16.nearest(Float(bitPattern: 0x3F81_8000)) == 0x3F82)  // tie, even above
        #expect(BFloat16.nearest(Float(bitPattern: 0x3F80_8001)) == 0x3F81)
        #expect(BFloat16.float(BFloat16.nearest(.nan)).isNaN)
        #expect(BFloat16.float(BFloat16.stochastic(.nan, random: 0xFFFF)).isNaN)
        #expect(BFloat16.stochastic(Float(bitPattern: 0x3F80_4000), random: 0xBFFF) == 0x3F80)
        #expect(BFloat16.stochastic(Float(bitPattern: 0x3F80_4000), random: 0xC000) == 0x3F81)
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
