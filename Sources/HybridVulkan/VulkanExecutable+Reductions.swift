import HybridCore

/// The large matrix product and the parallel reductions: layer norm (a workgroup per row), sums
/// over rows (column_sum, layer_norm_parameters: partials per block of rows, then their ordered
/// sum), sums over elements (sum.comp: partials per chunk, then one group) and the embedding
/// backward (bucketed by id). All deterministic: fixed blocks, fixed trees, no float atomics.
/// Partials live in `aux` from `reductionOffset`, sized at compile time by `reductionScratch`.
extension VulkanExecutable {
    /// Rows per block in the two-pass column reductions.
    static let rowBlock = 64
    /// sum.comp's first pass: at most this many workgroups, each over at least 1024 elements.
    static let sumGroups = 16384
    /// matmul_large.comp: 128×128 tiles a product needs before `.tiled` prefers it to matmul.comp
    /// (enough to fill a big GPU's cores with 256-invocation groups).
    static let largeTiles = 128
    /// matmul_large.comp's shared memory: two buffers of two [8][132] operand tiles.
    static let largeSharedBytes = 2 * 2 * 8 * 132 * 4

    static func rowBlocks(_ rows: Int) -> Int { (rows + rowBlock - 1) / rowBlock }

    /// Elements per workgroup of sum.comp's first pass over n (a multiple of its 64 invocations).
    static func sumChunk(_ n: Int) -> Int {
        max(1024, ((n + sumGroups - 1) / sumGroups + 63) / 64 * 64)
    }

    /// Floats of `aux` that `node`'s reductions need for partials (0: one pass).
    static func reductionScratch(_ node: Node, _ graph: Graph) -> Int {
        let i = node.inputs
        switch node.op {
        case .mean:
            let n = graph[i[0]].count
            return n > sumChunk(n) ? (n + sumChunk(n) - 1) / sumChunk(n) : 0
        case .crossEntropy, .mse:
            let rows = graph[i[0]].rows
            return rows > sumChunk(rows) ? (rows + sumChunk(rows) - 1) / sumChunk(rows) : 0
        case .layerNorm:
            let x = graph[i[0]]
            return rowBlocks(x.rows) > 1 ? 2 * x.columns * rowBlocks(x.rows) : 0
        case .linear(true):
            let rows = graph[i[0]].rows, columns = graph[i[1]].shape[0]
            return rowBlocks(rows) > 1 ? columns * rowBlocks(rows) : 0
        case .addBroadcast:
            let n = graph[i[1]].count, rows = graph[i[0]].count / max(n, 1)
            return rowBlocks(rows) > 1 ? n * rowBlocks(rows) : 0
        default:
            return 0
        }
    }

    private var scratch: Operand { auxAt(reductionOffset) }

    // MARK: matrix product

    /// Whether this product runs matmul_large.comp (else matmul.comp or matmul_direct.comp).
    func usesLargeMatmul(M: Int, N: Int) -> Bool {
        let info = device.info
        guard info.maxWorkgroupInvocations >= 256, info.sharedMemory >= Self.largeSharedBytes else { return false }
        switch device.matmul {
        case .direct: return false
        case .large: return true
        case .tiled: return ((M + 127) / 128) * ((N + 127) / 128) >= Self.largeTiles
        }
    }

    /// C[M,N] = alpha · op(A)·op(B) + beta · C (+ bias) with matmul_large.comp: one group per 128×128 tile.
    func matmulLarge(_ r: CommandRecording, a: Operand, b: Operand, c: Operand, bias: Operand?, M: Int, N: Int, K: Int,
                     lda: Int, ldb: Int, ldc: Int, transA: Bool, transB: Bool, alpha: Float = 1, beta: Float, barrier: Bool = true) throws {
        let tiles = ((M + 127) / 128) * ((N + 127) / 128)
        try r.dispatch(.matmul_large, constants: [transA ? 1 : 0, transB ? 1 : 0],
                       [a, b, c, bias ?? .none], [.size(M), .size(N), .size(K), .size(lda), .size(ldb), .size(ldc),
                                                  bias == nil ? 0 : 1, .float(alpha), .float(beta)],
                       groups: tiles, barrier: barrier)
    }

    // MARK: layer norm

    /// Invocations per row of layer_norm.comp: a power of two near C/4, from 32 to 256.
    func layerNormWidth(_ C: Int) -> UInt32 {
        var width = 32
        while width < 256, width * 4 < C, width * 2 <= device.info.maxWorkgroupInvocations { width *= 2 }
        return UInt32(width)
    }

    /// layer_norm.comp, forward (dx nil: out, mean, rstd) or backward (dx += …), one group per row.
    func layerNorm(_ r: CommandRecording, out: Operand, mean: Operand, rstd: Operand, x: Operand, w: Operand, b: Operand,
                   dout: Operand?, rows: Int, columns: Int, eps: Float) throws {
        try r.dispatch(.layer_norm, constants: [layerNormWidth(columns)],
                       [out, mean, rstd, x, w, b, dout ?? .none], [.size(rows), .size(columns), dout == nil ? 0 : 1, .float(eps)],
                       groups: rows)
    }

    /// dw += Σ_rows dout · xhat, db += Σ_rows dout (either may be absent): partials per block of
    /// rows into scratch, then added in block order, or one pass for a single block.
    func layerNormParameters(_ r: CommandRecording, dw: Operand?, db: Operand?, dout: Operand, x: Operand, mean: Operand, rstd: Operand,
                             rows: Int, columns: Int) throws {
        let which: UInt32 = (dw != nil ? 1 : 0) | (db != nil ? 2 : 0)
        guard which != 0, rows > 0, columns > 0 else { return }
        let blocks = Self.rowBlocks(rows)
        let shape: [PushScalar] = try [.size(rows), .size(columns), .size(Self.rowBlock), .uint(which)]
        if blocks == 1 {
            try r.dispatch(.layer_norm_parameters, [dw ?? .none, db ?? .none, dout, x, mean, rstd], shape + [1], items: columns)
            return
        }
        let partialW = scratch, partialB = auxAt(reductionOffset + blocks * columns)
        try r.dispatch(.layer_norm_parameters, [partialW, partialB, dout, x, mean, rstd], shape + [0], items: blocks * columns)
        if let dw { try accumulateColumns(r, into: dw, partials: partialW, blocks: blocks, columns: columns) }
        if let db { try accumulateColumns(r, into: db, partials: partialB, blocks: blocks, columns: columns) }
    }

    // MARK: sums over rows and elements

    /// y[n] += Σ_r x[r, n] over `rows` rows of `columns`: partials per block of rows, then their ordered sum.
    func columnSum(_ r: CommandRecording, into y: Operand, x: Operand, rows: Int, columns: Int) throws {
        guard rows > 0, columns > 0 else { return }
        let blocks = Self.rowBlocks(rows)
        if blocks == 1 { return try accumulateColumns(r, into: y, partials: x, blocks: rows, columns: columns) }
        try r.dispatch(.column_sum, [scratch, x], [.size(rows), .size(columns), .size(Self.rowBlock), 0], items: blocks * columns)
        try accumulateColumns(r, into: y, partials: scratch, blocks: blocks, columns: columns)
    }

    /// y[n] += Σ_b partials[b, n], b in order: one invocation per column.
    private func accumulateColumns(_ r: CommandRecording, into y: Operand, partials: Operand, blocks: Int, columns: Int) throws {
        try r.dispatch(.column_sum, [y, partials], [.size(blocks), .size(columns), .size(blocks), 1], items: columns)
    }

    /// out = Σ x[0..<n] / (divisor · W), W = max(Σ weights[0..<rows], 1) (`byRows`: max(rows, 1)) with weights (stored at
    /// `normalizer` for the loss backwards), else 1: sum.comp over chunks into scratch, then one
    /// group over the partials; a single group when n fits one chunk.
    func sum(_ r: CommandRecording, into out: Operand, x: Operand, n: Int, weights: (values: Operand, rows: Int, normalizer: Operand)?,
             divisor: Float, byRows: Bool = false) throws {
        let chunk = Self.sumChunk(n), groups = (n + chunk - 1) / chunk
        var source = x, count = n
        if groups > 1 {
            try r.dispatch(.sum, [scratch, x, .none, .none], [.size(n), 0, 0, 0, .size(chunk), 1.0], groups: groups)
            (source, count) = (scratch, groups)
        }
        try r.dispatch(.sum, [out, source, weights?.values ?? .none, weights?.normalizer ?? .none],
                       [.size(count), .size(weights?.rows ?? 0), weights == nil ? 0 : byRows ? 2 : 1, 0, .size(max(count, 1)), .float(divisor)], groups: 1)
    }

    // MARK: embedding

    /// dtable[ids[i], c] += dout[i, c] with embedding_backward.comp: one group per (bucket of
    /// ids, block of channels), buckets enough for about 512 groups (at most 64).
    func embeddingBackward(_ r: CommandRecording, dtable: Operand, ids: Operand, dout: Operand, rows: Int, columns: Int) throws {
        guard rows > 0, columns > 0 else { return }
        let width = Int(Kernel.embedding_backward.defaultConstants(device.info)[0])
        let blocks = (columns + width - 1) / width
        let buckets = min(64, max(1, (512 + blocks - 1) / blocks))
        try r.dispatch(.embedding_backward, [dtable, ids, dout], [.size(rows), .size(columns), .size(buckets)],
                       groups: buckets * blocks)
    }
}
