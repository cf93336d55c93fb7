// Attention: forward against a naive masked softmax attention in Double, backward against finite
// differences, for causal, bidirectional and irregular windows with a fully masked row.

import Foundation
import HybridCPU
import HybridTestSupport
import Testing

/// A key window per query: row t attends to keys start[t] ..< end[t].
struct KeyWindows: CustomTestStringConvertible, Sendable {
    let name: String
    let start: [Int32]
    let end: [Int32]
    var testDescription: String { name }

    static func causal(_ T: Int) -> Self {
        Self(name: "causal", start: .init(repeating: 0, count: T), end: (0..<T).map { Int32($0 + 1) })
    }

    static func bidirectional(_ T: Int) -> Self {
        Self(name: "bidirectional", start: .init(repeating: 0, count: T), end: .init(repeating: Int32(T), count: T))
    }

    /// A sliding window of 3 (rows past the first two cannot see key 0), with row 1 masked out.
    static func windowWithMaskedRow(_ T: Int) -> Self {
        var start = (0..<T).map { Int32(max(0, $0 - 2)) }, end = (0..<T).map { Int32($0 + 1) }
        start[1] = 3
        end[1] = 3
        return Self(name: "window, row 1 masked", start: start, end: end)
    }

    /// Prefix-LM: the first `prefix` rows see the whole prefix, later rows are causal; row 0 masked.
    static func prefixWithMaskedRow(_ T: Int, prefix: Int) -> Self {
        var end = (0..<T).map { Int32(max($0 + 1, prefix)) }
        end[0] = 0
        return Self(name: "prefix-LM, row 0 masked", start: .init(repeating: 0, count: T), end: end)
    }

    /// Causal, with rows 0..<64 (the whole first block of the kernel's row blocks) masked out.
    static func causalWithMaskedBlock(_ T: Int) -> Self {
        var end = (0..<T).map { Int32($0 + 1) }
        for t in 0..<min(64, T) { end[t] = 0 }
        return Self(name: "causal, rows 0..<64 masked", start: .init(repeating: 0, count: T), end: end)
    }

    /// Transfusion: rows before `start` causal, the block from `start` on sees every row.
    static func tailBlock(_ T: Int, start: Int) -> Self {
        Self(name: "tail block from \(start)", start: .init(repeating: 0, count: T),
             end: (0..<T).map { Int32($0 < start ? $0 + 1 : T) })
    }

    static func all(_ T: Int) -> [Self] {
        [causal(T), bidirectional(T), windowWithMaskedRow(T), prefixWithMaskedRow(T, prefix: 3)]
    }
}

@Suite("Attention")
struct AttentionTests {
    struct Shape: Sendable { let B, T, C, H: Int }

    static func forward(_ qkv: [Float], _ mask: KeyWindows, _ s: Shape) -> (out: [Float], lse: [Float]) {
        let x = Buffer(qkv), ks = Buffer(mask.start), ke = Buffer(mask.end)
        let out = Buffer(repeating: Float.nan, count: s.B * s.T * s.C)
        let lse = Buffer(repeating: Float.nan, count: s.B * s.H * s.T)
        let scratch = Buffer(repeating: Float.nan, count: Attention.scratchCount(T: s.T))
        withExtendedLifetime((x, ks, ke, scratch)) {
            Attention.forward(out: out.p, lse: lse.p, qkv: x.p, keyStart: ks.p, keyEnd: ke.p, scratch: scratch.p,
                              B: s.B, T: s.T, C: s.C, H: s.H)
        }
        return (out.array, lse.array)
    }

    /// The backward from the forward's own out and lse, as the executable runs them.
    static func backward(_ dout: [Float], _ qkv: [Float], _ mask: KeyWindows, _ s: Shape, into dqkv: [Float]) -> [Float] {
        let (out, lse) = forward(qkv, mask, s)
        let d = Buffer(dout), x = Buffer(qkv), o = Buffer(out), l = Buffer(lse), ks = Buffer(mask.start), ke = Buffer(mask.end)
        let g = Buffer(dqkv), scratch = Buffer(repeating: Float.nan, count: Attention.scratchCount(T: s.T))
        withExtendedLifetime((d, x, o, l, ks, ke, scratch)) {
            Attention.backward(dqkv: g.p, dout: d.p, out: o.p, qkv: x.p, lse: l.p, keyStart: ks.p, keyEnd: ke.p,
                               scratch: scratch.p, B: s.B, T: s.T, C: s.C, H: s.H)
        }
        return g.array
    }

    /// Naive masked softmax attention, one score at a time, in Double.
    static func reference(_ qkv: [Float], _ mask: KeyWindows, _ s: Shape) -> (out: [Float], lse: [Float]) {
        let (B, T, C, H) = (s.B, s.T, s.C, s.H), D = C / H
        let scale = 1 / Double(D).squareRoot()
        var out = [Float](repeating: 0, count: B * T * C), lse = [Float](repeating: 0, count: B * H * T)
        func at(_ b: Int, _ t: Int, _ part: Int, _ h: Int, _ d: Int) -> Double {
            Double(qkv[(b * T + t) * 3 * C + part * C + h * D + d])
        }
        for b in 0..<B {
            for h in 0..<H {
                for t in 0..<T {
                    let keys = Int(mask.start[t]) ..< max(Int(mask.start[t]), Int(mask.end[t]))
                    guard !keys.isEmpty else { continue }
                    let scores = keys.map { j in scale * (0..<D).reduce(0.0) { $0 + at(b, t, 0, h, $1) * at(b, j, 1, h, $1) } }
                    let m = scores.max()!
                    let e = scores.map { exp($0 - m) }
                    let z = e.reduce(0, +)
                    lse[(b * H + h) * T + t] = Float(m + log(z))
                    for d in 0..<D {
                        let o = keys.enumerated().reduce(0.0) { $0 + e[$1.offset] / z * at(b, $1.element, 2, h, d) }
                        out[(b * T + t) * C + h * D + d] = Float(o)
                    }
                }
            }
        }
        return (out, lse)
    }

    static let small = Shape(B: 2, T: 5, C: 8, H: 2)
    static let large = Shape(B: 2, T: 70, C: 16, H: 4)   // softmax loops run on two cores

    @Test("forward matches naive masked attention", arguments: KeyWindows.all(5))
    func reference(mask: KeyWindows) {
        let s = Self.small
        var rng = SeededRNG(seed: 71)
        let qkv = rng.normal(count: s.B * s.T * 3 * s.C)
        let result = Self.forward(qkv, mask, s), expected = Self.reference(qkv, mask, s)
        #expect(nmse(result.out, expected.out) < 1e-11, "out \(mask.name)")
        #expect(nmse(result.lse, expected.lse) < 1e-11, "lse \(mask.name)")
        #expect(!result.out.contains { $0.isNaN } && !result.lse.contains { $0.isNaN })
    }

    @Test("two-core forward over several row blocks matches naive attention",
          arguments: [KeyWindows.causal(70), .windowWithMaskedRow(70), .causalWithMaskedBlock(70), .tailBlock(70, start: 40)])
    func largeReference(mask: KeyWindows) {
        let s = Self.large
        var rng = SeededRNG(seed: 72)
        let qkv = rng.normal(count: s.B * s.T * 3 * s.C)
        let result = Self.forward(qkv, mask, s), expected = Self.reference(qkv, mask, s)
        #expect(nmse(result.out, expected.out) < 1e-11, "out \(mask.name)")
        #expect(nmse(result.lse, expected.lse) < 1e-11, "lse \(mask.name)")
    }

    @Test("backward matches finite differences", arguments: KeyWindows.all(5))
    func gradients(mask: KeyWindows) {
        let s = Self.small
        var rng = SeededRNG(seed: 73)
        let qkv = rng.normal(count: s.B * s.T * 3 * s.C), r = rng.uniform(count: s.B * s.T * s.C)
        let dqkv = Self.backward(r, qkv, mask, s, into: .init(repeating: 0, count: qkv.count))
        let check = gradientCheck(qkv, dqkv, r: r) { Self.forward($0, mask, s).out }
        #expect(check.normalizedError < 5e-3, "\(mask.name): \(check)")
        // Nothing flows into the query of a fully masked row.
        for t in 0..<s.T where mask.start[t] >= mask.end[t] {
            for b in 0..<s.B {
                let q = dqkv[(b * s.T + t) * 3 * s.C ..< (b * s.T + t) * 3 * s.C + s.C]
                #expect(q.allSatisfy { $0 == 0 }, "masked row \(t) of batch \(b) has a query gradient")
            }
        }
    }

    @Test("two-core backward over several row blocks matches finite differences at sampled coordinates and accumulates",
          arguments: [KeyWindows.windowWithMaskedRow(70), .causalWithMaskedBlock(70), .tailBlock(70, start: 40)])
    func largeGradients(mask: KeyWindows) {
        let s = Self.large
        var rng = SeededRNG(seed: 74)
        let qkv = rng.normal(count: s.B * s.T * 3 * s.C), r = rng.uniform(count: s.B * s.T * s.C)
        let once = Self.backward(r, qkv, mask, s, into: .init(repeating: 0, count: qkv.count))
        let sample = (0..<48).map { _ in Int(rng.next() % UInt64(qkv.count)) }
        let check = gradientCheck(qkv, once, r: r, indices: sample) { Self.forward($0, mask, s).out }
        #expect(check.normalizedError < 5e-3, "\(check)")
        let twice = Self.backward(r, qkv, mask, s, into: once)
        #expect(isDoubled(twice, once))
    }
}
