// Multi-head scaled dot-product attention with a per-query key window and a fused softmax.
//
// Legend: B batch, T time, C channels, H heads, D = C/H head size, scale = 1/sqrt(D).
//   qkv[B,T,3C] holds q | k | v along the last dim; head h reads columns h*D..<(h+1)*D of each.
//   Query t sees keys j with keyStart[t] <= j < keyEnd[t]  (causal: 0..<t+1, bidirectional:
//   0..<T; prefix-LM and block masks are other windows). keyStart >= keyEnd masks the row fully:
//   its probs and output are 0 and nothing flows back through it.
//   forward:  S[b,h] = scale · Q·Kᵀ                      [T,T]
//             probs[b,h] = softmax over the window of S  (0 outside it)
//             out[b,:,h] = probs[b,h] · V                [T,D]
//   backward: dP = dO·Vᵀ,  dV += Pᵀ·dO
//             dS = P ∘ (dP − rowsum(P ∘ dP))
//             dQ += scale · dS·K,  dK += scale · dSᵀ·Q
// The heads (b,h) are split over the cores; each runs its block of R query rows at a time, over
// only the keys some row of the block sees (the union of their windows): a causal mask skips
// the blocks above the diagonal, about (1 − (R/T + 1)/2) of the work. A block's products and its
// softmax run back to back while its scores sit in cache. Score entries outside a row's own
// window are never read (softmax writes 0 there). Each product is one single-threaded sgemm
// with lda = 3C, so Q, K, V and their gradients are read and written in place.

import CVectorMath

public enum Attention {
    /// out[B,T,C] = attention(qkv[B,T,3C]); writes probs[B,H,T,T], saved for the backward.
    public static func forward(out: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>, qkv: UnsafePointer<Float>,
                               keyStart: UnsafePointer<Int32>, keyEnd: UnsafePointer<Int32>,
                               B: Int, T: Int, C: Int, H: Int) {
        precondition(H > 0 && C % H == 0, "Attention: C (\(C)) must be a multiple of H (\(H))")
        let D = C / H, C3 = 3 * C, TT = T * T
        let scale = 1 / Float(D).squareRoot()
        guard B > 0, T > 0, D > 0 else { return }

        let blocks = RowBlocks(T: T, keyStart: keyStart, keyEnd: keyEnd)
        eachHead(B: B, H: H, work: B * H * TT * D) { b, h in
            let q = qkv + b * T * C3 + h * D, v = q + 2 * C
            let p = probs + (b * H + h) * TT, o = out + b * T * C + h * D
            for (rows, keys) in blocks.spans {
                guard !keys.isEmpty else {   // every row of the block fully masked: probs and output 0
                    for t in rows { (p + t * T).update(repeating: 0, count: T); (o + t * C).update(repeating: 0, count: D) }
                    continue
                }
                let r0 = rows.lowerBound, k0 = keys.lowerBound
                // Scores: scale · Q·Kᵀ over the block's keys.
                sgemm(transA: false, transB: true, M: rows.count, N: keys.count, K: D,
                      alpha: scale, A: q + r0 * C3, lda: C3, B: q + C + k0 * C3, ldb: C3, beta: 0, C: p + r0 * T + k0, ldc: T)
                // Masked, stable softmax of each row, in place.
                for t in rows {
                    let row = p + t * T
                    let (start, end) = window(t: t, T: T, keyStart: keyStart, keyEnd: keyEnd)
                    guard start < end else { row.update(repeating: 0, count: T); continue }
                    row.update(repeating: 0, count: start)
                    (row + end).update(repeating: 0, count: T - end)
                    let m = rowMax(row + start, end - start)
                    let inv = 1 / hybrid_exponentiate(row + start, row + start, end - start, m)
                    for j in start..<end { row[j] *= inv }
                }
                // out = P·V (P is 0 outside each row's window).
                sgemm(transA: false, transB: false, M: rows.count, N: D, K: keys.count,
                      alpha: 1, A: p + r0 * T + k0, lda: T, B: v + k0 * C3, ldb: C3, beta: 0, C: o + r0 * C, ldc: C)
            }
        }
    }

    /// Accumulates dqkv[B,T,3C] from dout[B,T,C]; scratch[B,H,T,T] is a caller-provided
    /// workspace (overwritten) for dP and then dS.
    public static func backward(dqkv: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                                qkv: UnsafePointer<Float>, probs: UnsafePointer<Float>,
                                keyStart: UnsafePointer<Int32>, keyEnd: UnsafePointer<Int32>,
                                B: Int, T: Int, C: Int, H: Int) {
        precondition(H > 0 && C % H == 0, "Attention: C (\(C)) must be a multiple of H (\(H))")
        let D = C / H, C3 = 3 * C, TT = T * T
        let scale = 1 / Float(D).squareRoot()
        guard B > 0, T > 0, D > 0 else { return }

        let blocks = RowBlocks(T: T, keyStart: keyStart, keyEnd: keyEnd)
        eachHead(B: B, H: H, work: 2 * B * H * TT * D) { b, h in
            let dO = dout + b * T * C + h * D
            let qOffset = b * T * C3 + h * D, kOffset = qOffset + C, vOffset = qOffset + 2 * C
            let p = probs + (b * H + h) * TT, ds = scratch + (b * H + h) * TT
            for (rows, keys) in blocks.spans where !keys.isEmpty {
                let r0 = rows.lowerBound, k0 = keys.lowerBound
                // dP = dO·Vᵀ;  dV += Pᵀ·dO.
                sgemm(transA: false, transB: true, M: rows.count, N: keys.count, K: D,
                      alpha: 1, A: dO + r0 * C, lda: C, B: qkv + vOffset + k0 * C3, ldb: C3, beta: 0, C: ds + r0 * T + k0, ldc: T)
                sgemm(transA: true, transB: false, M: keys.count, N: D, K: rows.count,
                      alpha: 1, A: p + r0 * T + k0, lda: T, B: dO + r0 * C, ldb: C, beta: 1, C: dqkv + vOffset + k0 * C3, ldc: C3)
                // dS = P ∘ (dP − Σ_j P·dP), in place over dP; 0 outside the window.
                for t in rows {
                    let pr = p + t * T, dr = ds + t * T
                    let (start, end) = window(t: t, T: T, keyStart: keyStart, keyEnd: keyEnd)
                    guard start < end else { (dr + k0).update(repeating: 0, count: keys.count); continue }
                    (dr + k0).update(repeating: 0, count: start - k0)
                    (dr + end).update(repeating: 0, count: keys.upperBound - end)
                    var acc = SIMD16<Float>()
                    var j = start
                    while j + 16 <= end { acc += pr.load16(j) * dr.load16(j); j += 16 }
                    var dot = acc.sum()
                    while j < end { dot += pr[j] * dr[j]; j += 1 }
                    for j in start..<end { dr[j] = pr[j] * (dr[j] - dot) }
                }
                // dQ += scale · dS·K;  dK += scale · dSᵀ·Q.
                sgemm(transA: false, transB: false, M: rows.count, N: D, K: keys.count,
                      alpha: scale, A: ds + r0 * T + k0, lda: T, B: qkv + kOffset + k0 * C3, ldb: C3,
                      beta: 1, C: dqkv + qOffset + r0 * C3, ldc: C3)
                sgemm(transA: true, transB: false, M: keys.count, N: D, K: rows.count,
                      alpha: scale, A: ds + r0 * T + k0, lda: T, B: qkv + qOffset + r0 * C3, ldb: C3,
                      beta: 1, C: dqkv + kOffset + k0 * C3, ldc: C3)
            }
        }
    }

    /// Runs `body(b, h)` for every head of every sequence, split over the cores, each product
    /// inside on its calling thread: a head's products are small (T×D by D×T), too small to
    /// split again. Heads write disjoint columns of out, dqkv and disjoint [T,T] planes of
    /// probs and scratch.
    static func eachHead(B: Int, H: Int, work: Int, _ body: (Int, Int) -> Void) {
        Parallel.forEachChunk(count: B * H, work: work) { heads in
            for bh in heads { body(bh / H, bh % H) }
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
