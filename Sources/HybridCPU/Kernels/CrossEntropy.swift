// Softmax cross-entropy with per-position weights, fused (logits → probs → loss).
//
// Legend: N rows (= B*T), V vocabulary; W = max(Σ_i weights[i], 1).
//   forward:  probs[N,V] = softmax(logits[N,V]) per row
//             loss = Σ_i weights[i] · (−log probs[i, targets[i]]) / W       (sums in Double)
//   backward: dlogits[i,:] += dloss · weights[i] / W · (probs[i,:] − onehot(targets[i]))
// With all weights 1 the loss is the plain mean over rows. A row of weight 0 contributes
// nothing and its target is never read (it may be a padding id such as −1).

import CVectorMath
import Foundation
import HybridCore

public enum CrossEntropy {
    /// Writes probs[N,V] and the scalar loss[0] = Σ w·CE / W (`normalizer`).
    public static func forward(loss: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>, logits: UnsafePointer<Float>,
                               targets: UnsafePointer<Int32>, weights: UnsafePointer<Float>, normalizer: LossNormalizer = .weights, N: Int, V: Int) {
        let total = Parallel.sum(count: N, work: N * V * 4) { rows in
            var partial = 0.0
            for i in rows {
                let z = logits + i * V, p = probs + i * V
                let m = rowMax(z, V)
                let sum = hybrid_exponentiate(z, p, V, m)
                let inv = 1 / sum
                for j in 0..<V { p[j] *= inv }
                let w = weights[i]
                if w != 0 {
                    let target = Int(targets[i])
                    precondition(target >= 0 && target < V, "CrossEntropy: target \(target) of row \(i) is outside 0..<\(V)")
                    // −log softmax = log Σ exp(z − m) − (z_target − m), without log(0) for tiny probs.
                    partial += Double(w) * (log(Double(sum)) - Double(z[target] - m))
                }
            }
            return partial
        }
        loss[0] = Float(total / Self.normalizer(normalizer, weights, N))
    }

    /// dlogits[N,V] += dloss · weights[i] / W · (probs[i,:] − onehot(targets[i])).
    public static func backward(dlogits: UnsafeMutablePointer<Float>, probs: UnsafePointer<Float>, targets: UnsafePointer<Int32>,
                                weights: UnsafePointer<Float>, normalizer: LossNormalizer = .weights, dloss: Float, N: Int, V: Int) {
        let perWeight = Float(Double(dloss) / Self.normalizer(normalizer, weights, N))
        Parallel.forEachChunk(count: N, work: N * V) { rows in
            for i in rows {
                let w = weights[i]
                guard w != 0 else { continue }
                let g = perWeight * w
                let d = dlogits + i * V, p = probs + i * V
                for j in 0..<V { d[j] += g * p[j] }
                d[Int(targets[i])] -= g
            }
        }
    }

    /// W = max(Σ weights, 1), or max(N, 1) by rows.
    static func normalizer(_ kind: LossNormalizer, _ weights: UnsafePointer<Float>, _ N: Int) -> Double {
        kind == .rows ? Double(max(N, 1)) : max(doubleSum(weights, N), 1)
    }
}
