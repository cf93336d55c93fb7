// AttentionDecode: token by token over a key/value cache, it must give each row of causal
// Attention over the whole sequence.

import HybridCPU
import HybridTestSupport
import Testing

@Suite struct AttentionDecodeTests {
    @Test(arguments: [(T: 9, C: 12, H: 3), (T: 5, C: 8, H: 1)])
    func stepsMatchCausalAttentionRowByRow(_ shape: (T: Int, C: Int, H: Int)) {
        let (T, C, H) = shape
        var rng = SeededRNG(seed: 3)
        let qkv = rng.uniform(count: T * 3 * C)
        var full = [Float](repeating: 0, count: T * C), lse = [Float](repeating: 0, count: H * T)
        var scratch = [Float](repeating: 0, count: Attention.scratchCount(T: T))
        let start = [Int32](repeating: 0, count: T), end = (0..<T).map { Int32($0 + 1) }
        Attention.forward(out: &full, lse: &lse, qkv: qkv, keyStart: start, keyEnd: end, scratch: &scratch, B: 1, T: T, C: C, H: H)
        // A cache longer than the sequence, with garbage past the rows written: never read.
        let maxLength = T + 3
        var keys = [Float](repeating: .nan, count: maxLength * C), values = [Float](repeating: .nan, count: maxLength * C)
        for t in 0..<T {
            var out = [Float](repeating: 0, count: C)
            qkv.withUnsafeBufferPointer { q in
                AttentionDecode.forward(out: &out, qkv: q.baseAddress! + t * 3 * C, keys: &keys, values: &values,
                                        position: t, C: C, H: H, maxLength: maxLength)
            }
            let row = Array(full[(t * C)..<((t + 1) * C)])
            #expect(nmse(out, row) < 1e-12, "row \(t): NMSE \(nmse(out, row))")
        }
    }
}
