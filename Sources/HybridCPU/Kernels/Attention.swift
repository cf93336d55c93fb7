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
// The products run per (b,h) and per block of R query rows, over only the keys some row of the
// block sees (the union of their windows): a causal mask skips the blocks above the diagonal,
// about (1 − (R/T + 1)/2) of the work. Score entries outside a row's own window are never read
// (softmax writes 0 there). Each product is one sgemm issued from the calling thread with
// lda = 3C, so Q, K, V and their gradients are read and written in place; the softmax loops
// between the products run over all B*H*T rows split across the cores.

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
        // Scores: probs[b,h] = scale · Q·Kᵀ, where some row of the block looks.
        for b in 0..<B {
            for h in 0..<H {
                let q = qkv + b * T * C3 + h * D, p = probs + (b * H + h) * TT
                for (rows, keys) in blocks.spans where !keys.isEmpty {
                    sgemm(transA: false, transB: true, M: rows.count, N: keys.count, K: D,
                          alpha: scale, A: q + rows.lowerBound * C3, lda: C3, B: q + C + keys.lowerBound * C3, ldb: C3,
                          beta: 0, C: p + rows.lowerBound * T + keys.lowerBound, ldc: T)
                }
            }
        }

        // Masked, stable softmax of every row, in place.
        Parallel.forEachChunk(count: B * H * T, work: B * H * TT * 4) { rows in
            for r in rows {
                let row = probs + r * T
                let (start, end) = window(t: r % T, T: T, keyStart: keyStart, keyEnd: keyEnd)
                guard start < end else { row.update(repeating: 0, count: T); continue }
                row.update(repeating: 0, count: start)
                (row + end).update(repeating: 0, count: T - end)
                let m = rowMax(row + start, end - start)
                let inv = 1 / exponentiate(row + start, into: row + start, count: end - start, minus: m)
                for j in start..<end { row[j] *= inv }
            }
        }

        // out[b,:,h] = P·V (P is 0 outside the block's keys).
        for b in 0..<B {
            for h in 0..<H {
                let v = qkv + b * T * C3 + 2 * C + h * D, p = probs + (b * H + h) * TT, o = out + b * T * C + h * D
                for (rows, keys) in blocks.spans {
                    guard !keys.isEmpty else {   // every row of the block fully masked: output 0
                        for t in rows { (o + t * C).update(repeating: 0, count: D) }
                        continue
                    }
                    sgemm(transA: false, transB: false, M: rows.count, N: D, K: keys.count,
                          alpha: 1, A: p + rows.lowerBound * T + keys.lowerBound, lda: T, B: v + keys.lowerBound * C3, ldb: C3,
                          beta: 0, C: o + rows.lowerBound * C, ldc: C)
                }
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
        // dP = dO·Vᵀ into scratch; dV += Pᵀ·dO; both over the block's keys.
        for b in 0..<B {
            for h in 0..<H {
                let dO = dout + b * T * C + h * D
                let vOffset = b * T * C3 + 2 * C + h * D
                let p = probs + (b * H + h) * TT, dP = scratch + (b * H + h) * TT
                for (rows, keys) in blocks.spans where !keys.isEmpty {
                    let r0 = rows.lowerBound, k0 = keys.lowerBound
                    sgemm(transA: false, transB: true, M: rows.count, N: keys.count, K: D,
                          alpha: 1, A: dO + r0 * C, lda: C, B: qkv + vOffset + k0 * C3, ldb: C3, beta: 0, C: dP + r0 * T + k0, ldc: T)
                    sgemm(transA: true, transB: false, M: keys.count, N: D, K: rows.count,
                          alpha: 1, A: p + r0 * T + k0, lda: T, B: dO + r0 * C, ldb: C, beta: 1, C: dqkv + vOffset + k0 * C3, ldc: C3)
                }
            }
        }

        // dS = P ∘ (dP − Σ_j P·dP), in place over dP; 0 outside the window.
        Parallel.forEachChunk(count: B * H * T, work: B * H * TT * 2) { rows in
            for r in rows {
                let p = probs + r * T, ds = scratch + r * T
                let (start, end) = window(t: r % T, T: T, keyStart: keyStart, keyEnd: keyEnd)
                guard start < end else { ds.update(repeating: 0, count: T); continue }
                ds.update(repeating: 0, count: start)
                (ds + end).update(repeating: 0, count: T - end)
                var acc = SIMD16<Float>()
                var j = start
                while j + 16 <= end { acc += p.load16(j) * ds.load16(j); j += 16 }
                var dot = acc.sum()
                while j < end { dot += p[j] * ds[j]; j += 1 }
                for j in start..<end { ds[j] = p[j] * (ds[j] - dot) }
            }
        }

        // dQ += scale · dS·K;  dK += scale · dSᵀ·Q; over the block's keys.
        for b in 0..<B {
            for h in 0..<H {
                let qOffset = b * T * C3 + h * D
                let ds = scratch + (b * H + h) * TT
                for (rows, keys) in blocks.spans where !keys.isEmpty {
                    let r0 = rows.lowerBound, k0 = keys.lowerBound
                    sgemm(transA: false, transB: false, M: rows.count, N: D, K: keys.count,
                          alpha: scale, A: ds + r0 * T + k0, lda: T, B: qkv + qOffset + C + k0 * C3, ldb: C3,
                          beta: 1, C: dqkv + qOffset + r0 * C3, ldc: C3)
                    sgemm(transA: true, transB: false, M: keys.count, N: D, K: rows.count,
                          alpha: scale, A: ds + r0 * T + k0, lda: T, B: qkv + qOffset + r0 * C3, ldb: C3,
                          beta: 1, C: dqkv + qOffset + C + k0 * C3, ldc: C3)
                }
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
