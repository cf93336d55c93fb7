// Multi-head scaled dot-product attention with a per-query key window and a fused softmax.
//
// Legend: B batch, T time, C channels, H heads, D = C/H head size, scale = 1/sqrt(D).
//   qkv[B,T,3C] holds q | k | v along the last dim; head h reads columns h*D..<(h+1)*D of each.
//   Query t sees keys j with keyStart[t] <= j < keyEnd[t]  (causal: 0..<t+1, bidirectional:
//   0..<T; prefix-LM and block masks are other windows). keyStart >= keyEnd masks the row fully:
//   its probs and output are 0 and nothing flows back through it.
//   forward:  S[b,h] = scale · Q·Kᵀ                      [T,T]
//             P = softmax over the window of S (0 outside it), lse[b,h,t] = log Σ_j e^S
//             out[b,:,h] = P · V                          [T,D]
//   backward: P = e^(S − lse), recomputed;  dP = dO·Vᵀ,  dV += Pᵀ·dO
//             dS = P ∘ (dP − δ),  δ_t = rowsum(dO ∘ O) (= rowsum(P ∘ dP))
//             dQ += scale · dS·K,  dK += scale · dSᵀ·Q
// FlashAttention's bargain on the CPU: only lse[B,H,T] is kept from forward to backward, never
// the B×H×T×T probabilities; the backward recomputes a block's scores, one product more.
// The heads (b,h) are split over the cores; each runs its block of R query rows at a time, over
// only the keys some row of the block sees (the union of their windows): a causal mask skips
// the blocks above the diagonal, about (1 − (R/T + 1)/2) of the work. A block's scores live in
// its worker's R×T scratch, where its products and softmax run back to back while they sit in
// cache (the whole row fits, so no online softmax is needed). Each product is one
// single-threaded sgemm with lda = 3C, so Q, K, V and their gradients are read and written in
// place.

import CVectorMath
import Dispatch
import Foundation

public enum Attention {
    /// Floats of scratch the forward and backward need at sequence length T: two R×T blocks
    /// for each core.
    public static func scratchCount(T: Int) -> Int { Parallel.workers * 2 * RowBlocks.R * T }

    /// out[B,T,C] = attention(qkv[B,T,3C]); writes lse[B,H,T] for the backward (0 for a fully
    /// masked row). `scratch` holds `scratchCount(T:)` floats (overwritten).
    public static func forward(out: UnsafeMutablePointer<Float>, lse: UnsafeMutablePointer<Float>, qkv: UnsafePointer<Float>,
                               keyStart: UnsafePointer<Int32>, keyEnd: UnsafePointer<Int32>, scratch: UnsafeMutablePointer<Float>,
                               B: Int, T: Int, C: Int, H: Int) {
        precondition(H > 0 && C % H == 0, "Attention: C (\(C)) must be a multiple of H (\(H))")
        let D = C / H, C3 = 3 * C
        let scale = 1 / Float(D).squareRoot()
        guard B > 0, T > 0, D > 0 else { return }

        let blocks = RowBlocks(T: T, keyStart: keyStart, keyEnd: keyEnd)
        let sc = UncheckedSendable(scratch)
        eachHead(B: B, H: H, work: B * H * T * T * D) { worker, b, h in
            let q = qkv + b * T * C3 + h * D, v = q + 2 * C
            let l = lse + (b * H + h) * T, o = out + b * T * C + h * D
            let p = sc.value + worker * 2 * RowBlocks.R * T
            for (rows, keys) in blocks.spans {
                guard !keys.isEmpty else {   // every row of the block fully masked: output 0
                    for t in rows { (o + t * C).update(repeating: 0, count: D); l[t] = 0 }
                    continue
                }
                let r0 = rows.lowerBound, k0 = keys.lowerBound, n = keys.count
                // Scores: scale · Q·Kᵀ over the block's keys, row t at p + (t − r0)·n.
                sgemm(transA: false, transB: true, M: rows.count, N: n, K: D,
                      alpha: scale, A: q + r0 * C3, lda: C3, B: q + C + k0 * C3, ldb: C3, beta: 0, C: p, ldc: n)
                // Masked, stable softmax of each row, in place.
                for t in rows {
                    let row = p + (t - r0) * n
                    let (start, end) = window(t: t, T: T, keyStart: keyStart, keyEnd: keyEnd)
                    guard start < end else { row.update(repeating: 0, count: n); l[t] = 0; continue }
                    row.update(repeating: 0, count: start - k0)
                    (row + end - k0).update(repeating: 0, count: keys.upperBound - end)
                    let w = row + start - k0
                    let m = rowMax(w, end - start)
                    let sum = hybrid_exponentiate(w, w, end - start, m)
                    let inv = 1 / sum
                    for j in 0..<(end - start) { w[j] *= inv }
                    l[t] = m + log(sum)
                }
                // out = P·V (P is 0 outside each row's window).
                sgemm(transA: false, transB: false, M: rows.count, N: D, K: n,
                      alpha: 1, A: p, lda: n, B: v + k0 * C3, ldb: C3, beta: 0, C: o + r0 * C, ldc: C)
            }
        }
    }

    /// Accumulates dqkv[B,T,3C] from dout[B,T,C], given the forward's out and lse.
    /// `scratch` holds `scratchCount(T:)` floats (overwritten).
    public static func backward(dqkv: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, out: UnsafePointer<Float>,
                                qkv: UnsafePointer<Float>, lse: UnsafePointer<Float>,
                                keyStart: UnsafePointer<Int32>, keyEnd: UnsafePointer<Int32>, scratch: UnsafeMutablePointer<Float>,
                                B: Int, T: Int, C: Int, H: Int) {
        precondition(H > 0 && C % H == 0, "Attention: C (\(C)) must be a multiple of H (\(H))")
        let D = C / H, C3 = 3 * C
        let scale = 1 / Float(D).squareRoot()
        guard B > 0, T > 0, D > 0 else { return }

        let blocks = RowBlocks(T: T, keyStart: keyStart, keyEnd: keyEnd)
        let sc = UncheckedSendable(scratch)
        eachHead(B: B, H: H, work: 3 * B * H * T * T * D) { worker, b, h in
            let dO = dout + b * T * C + h * D, o = out + b * T * C + h * D, l = lse + (b * H + h) * T
            let qOffset = b * T * C3 + h * D, kOffset = qOffset + C, vOffset = qOffset + 2 * C
            let p = sc.value + worker * 2 * RowBlocks.R * T, ds = p + RowBlocks.R * T
            for (rows, keys) in blocks.spans where !keys.isEmpty {
                let r0 = rows.lowerBound, k0 = keys.lowerBound, n = keys.count
                // P = e^(scale · Q·Kᵀ − lse) in each row's window, 0 outside it.
                sgemm(transA: false, transB: true, M: rows.count, N: n, K: D,
                      alpha: scale, A: qkv + qOffset + r0 * C3, lda: C3, B: qkv + kOffset + k0 * C3, ldb: C3, beta: 0, C: p, ldc: n)
                for t in rows {
                    let row = p + (t - r0) * n
                    let (start, end) = window(t: t, T: T, keyStart: keyStart, keyEnd: keyEnd)
                    guard start < end else { row.update(repeating: 0, count: n); continue }
                    row.update(repeating: 0, count: start - k0)
                    (row + end - k0).update(repeating: 0, count: keys.upperBound - end)
                    _ = hybrid_exponentiate(row + start - k0, row + start - k0, end - start, l[t])
                }
                // dP = dO·Vᵀ;  dV += Pᵀ·dO.
                sgemm(transA: false, transB: true, M: rows.count, N: n, K: D,
                      alpha: 1, A: dO + r0 * C, lda: C, B: qkv + vOffset + k0 * C3, ldb: C3, beta: 0, C: ds, ldc: n)
                sgemm(transA: true, transB: false, M: n, N: D, K: rows.count,
                      alpha: 1, A: p, lda: n, B: dO + r0 * C, ldb: C, beta: 1, C: dqkv + vOffset + k0 * C3, ldc: C3)
                // dS = P ∘ (dP − δ), in place over dP; 0 wherever P is.
                for t in rows {
                    let pr = p + (t - r0) * n, dr = ds + (t - r0) * n
                    var delta: Float = 0
                    for d in 0..<D { delta += dO[t * C + d] * o[t * C + d] }
                    for j in 0..<n { dr[j] = pr[j] * (dr[j] - delta) }
                }
                // dQ += scale · dS·K;  dK += scale · dSᵀ·Q.
                sgemm(transA: false, transB: false, M: rows.count, N: D, K: n,
                      alpha: scale, A: ds, lda: n, B: qkv + kOffset + k0 * C3, ldb: C3,
                      beta: 1, C: dqkv + qOffset + r0 * C3, ldc: C3)
                sgemm(transA: true, transB: false, M: n, N: D, K: rows.count,
                      alpha: scale, A: ds, lda: n, B: qkv + qOffset + r0 * C3, ldb: C3,
                      beta: 1, C: dqkv + kOffset + k0 * C3, ldc: C3)
            }
        }
    }

    /// Runs `body(worker, b, h)` for every head of every sequence, split over the cores (worker
    /// numbers the core's share, for its scratch), each product inside on its calling thread: a
    /// head's products are small (T×D by D×T), too small to split again. Heads write disjoint
    /// columns of out, lse and dqkv.
    static func eachHead(B: Int, H: Int, work: Int, _ body: (Int, Int, Int) -> Void) {
        let count = B * H, chunks = Parallel.chunkCount(count: count, work: work)
        if chunks <= 1 {
            for bh in 0..<count { body(0, bh / H, bh % H) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let shared = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                for bh in count * chunk / chunks ..< count * (chunk + 1) / chunks { shared.value(chunk, bh / H, bh % H) }
            }
        }
    }

    /// Query rows in blocks of R, each with the union of its rows' key windows.
    struct RowBlocks {
        static let R = 64
        var spans: [(rows: Range<Int>, keys: Range<Int>)] = []

        init(T: Int, keyStart: UnsafePointer<Int32>, keyEnd: UnsafePointer<Int32>) {
            for r0 in stride(from: 0, to: T, by: Self.R) {
                let rows = r0..<min(T, r0 + Self.R)
                var low = T, high = 0
                for t in rows {
                    let (start, end) = window(t: t, T: T, keyStart: keyStart, keyEnd: keyEnd)
                    if start < end { low = min(low, start); high = max(high, end) }
                }
                spans.append((rows, low < high ? low..<high : 0..<0))
            }
        }
    }

    /// The key window of query t, clamped to 0...T.
    @inline(__always)
    static func window(t: Int, T: Int, keyStart: UnsafePointer<Int32>, keyEnd: UnsafePointer<Int32>) -> (Int, Int) {
        (max(0, Int(keyStart[t])), min(T, Int(keyEnd[t])))
    }
}
