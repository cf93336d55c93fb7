// Sequence slice and concat: copies of position blocks along T (one sequence's caption rows
// and image rows through their own feed-forward weights).
//
// Legend: B sequences; a tensor [B, T, C] is B blocks of T·C floats; a range of positions is
// one contiguous run of n = length·C floats inside each block.
//   slice forward:   out[b, t] = x[b, start + t]          backward: dx[b, start + t] += dout[b, t]
//   concat forward:  out[b, 0..<Ta] = a[b],  out[b, Ta..<Ta+Tb] = b[b]
//   concat backward: da[b] += dout[b, 0..<Ta],  db[b] += dout[b, Ta..<Ta+Tb]

public enum SequenceCopy {
    /// For each of `blocks` blocks: dst[k·dstStride + i] = src[k·srcStride + i] (or +=), i < n.
    public static func blocks(dst: UnsafeMutablePointer<Float>, dstStride: Int, src: UnsafePointer<Float>, srcStride: Int,
                              n: Int, blocks: Int, accumulate: Bool) {
        Parallel.forEachChunk(count: blocks, work: blocks * n) { range in
            for k in range {
                let d = dst + k * dstStride, s = src + k * srcStride
                if accumulate { for i in 0..<n { d[i] += s[i] } } else { d.update(from: s, count: n) }
            }
        }
    }

    /// out [B, length, C] = x [B, T, C] at positions start..<start+length.
    public static func sliceForward(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, B: Int, T: Int, C: Int, start: Int, length: Int) {
        blocks(dst: out, dstStride: length * C, src: x + start * C, srcStride: T * C, n: length * C, blocks: B, accumulate: false)
    }

    /// dx [B, T, C] at positions start..<start+length += dout [B, length, C].
    public static func sliceBackward(dx: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, B: Int, T: Int, C: Int, start: Int, length: Int) {
        blocks(dst: dx + start * C, dstStride: T * C, src: dout, srcStride: length * C, n: length * C, blocks: B, accumulate: true)
    }

    /// out [B, Ta + Tb, C] = a [B, Ta, C] then b [B, Tb, C] in each sequence.
    public static func concatForward(out: UnsafeMutablePointer<Float>, a: UnsafePointer<Float>, b: UnsafePointer<Float>, B: Int, Ta: Int, Tb: Int, C: Int) {
        let T = Ta + Tb
        blocks(dst: out, dstStride: T * C, src: a, srcStride: Ta * C, n: Ta * C, blocks: B, accumulate: false)
        blocks(dst: out + Ta * C, dstStride: T * C, src: b, srcStride: Tb * C, n: Tb * C, blocks: B, accumulate: false)
    }

    /// da += dout's first Ta positions, db += its last Tb, in each sequence.
    public static func concatBackward(da: UnsafeMutablePointer<Float>?, db: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>,
                                      B: Int, Ta: Int, Tb: Int, C: Int) {
        let T = Ta + Tb
        if let da { blocks(dst: da, dstStride: Ta * C, src: dout, srcStride: T * C, n: Ta * C, blocks: B, accumulate: true) }
        if let db { blocks(dst: db, dstStride: Tb * C, src: dout + Ta * C, srcStride: T * C, n: Tb * C, blocks: B, accumulate: true) }
    }
}
