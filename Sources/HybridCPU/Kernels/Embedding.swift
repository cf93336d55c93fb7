// Embedding: a row lookup in a table (token and position embeddings).
//
// Legend: N rows (= B*T), C channels, V table rows (vocabulary).
//   forward:  out[N,C] = table[ids[N], C]              (ids in 0..<V, not checked)
//   backward: dtable[ids[i], :] += dout[i, :]          (scatter-add: repeated ids add up)

public enum Embedding {
    /// out[i, :] = table[ids[i], :] for i in 0..<N.
    public static func forward(out: UnsafeMutablePointer<Float>, ids: UnsafePointer<Int32>, table: UnsafePointer<Float>, N: Int, C: Int) {
        Parallel.forEachChunk(count: N, work: N * C) { rows in
            for i in rows {
                (out + i * C).update(from: table + Int(ids[i]) * C, count: C)
            }
        }
    }

    /// dtable[ids[i], :] += dout[i, :]. Two rows may share an id, so the work is split over
    /// channel ranges (each chunk owns a column slice of dtable), never over rows.
    public static func backward(dtable: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, ids: UnsafePointer<Int32>, N: Int, C: Int) {
        Parallel.forEachChunk(count: C, work: C >= 128 ? N * C : 0) { channels in
            for i in 0..<N {
                let d = dtable + Int(ids[i]) * C, g = dout + i * C
                for c in channels { d[c] += g[c] }
            }
        }
    }
}
