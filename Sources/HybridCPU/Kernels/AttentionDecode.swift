// One generation step of multi-head attention over a key/value cache (no backward: it serves
// generation only; training uses Attention).
//
// Legend: C channels, H heads, D = C/H, scale = 1/sqrt(D), p the new token's position.
//   keys[p, :] = k,  values[p, :] = v          (the token's key and value, from qkv [3C])
//   out[h·D + d] = Σ_{j ≤ p} softmax_j(scale · q_h · keys[j, h]) · values[j, h·D + d]
// Rows after p are never read, so the cache needs no clearing between prompts.
import Foundation

public enum AttentionDecode {
    /// out[C] for the token at `position`; writes its key and value into row `position` of
    /// keys and values [maxLength, C].
    public static func forward(out: UnsafeMutablePointer<Float>, qkv: UnsafePointer<Float>, keys: UnsafeMutablePointer<Float>,
                               values: UnsafeMutablePointer<Float>, position p: Int, C: Int, H: Int, maxLength: Int) {
        precondition(p >= 0 && p < maxLength, "AttentionDecode: position \(p) is outside the cache of \(maxLength) rows")
        let D = C / H
        let scale = 1 / Float(D).squareRoot()
        (keys + p * C).update(from: qkv + C, count: C)
        (values + p * C).update(from: qkv + 2 * C, count: C)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: p + 1) { scores in
            for h in 0..<H {
                let q = qkv + h * D
                var m = -Float.infinity
                for j in 0...p {
                    let k = keys + j * C + h * D
                    var s: Float = 0
                    for d in 0..<D { s += q[d] * k[d] }
                    scores[j] = s * scale
                    m = max(m, scores[j])
                }
                var total: Float = 0
                for j in 0...p { scores[j] = expf(scores[j] - m); total += scores[j] }
                let o = out + h * D
                o.update(repeating: 0, count: D)
                for j in 0...p {
                    let w = scores[j] / total, v = values + j * C + h * D
                    for d in 0..<D { o[d] += w * v[d] }
                }
            }
        }
    }
}
