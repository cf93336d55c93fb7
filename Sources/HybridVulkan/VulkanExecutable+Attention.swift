/// Tile sizes of the fused attention kernels for head size D on a device (the legend is in
/// Shaders/attention.glsl): `rows` per workgroup (query rows; key rows for dK/dV), `block` rows
/// of the other side staged per step, `split` invocations per row, each holding `slice` vec4s.
/// A part of a row is at most 8 vec4s (32 floats of q and o in registers); the largest tile
/// whose shared memory fits the device wins, 64 rows by 32 where it can.
struct AttentionTiles: Equatable {
    var rows: Int, block: Int, split: Int, slice: Int

    /// Specialization constants 0–3: invocations, block, split, slice.
    var constants: [UInt32] { [rows * split, block, split, slice].map { UInt32($0) } }

    init(_ kernel: Kernel, D: Int, T: Int, device: VulkanDeviceInfo) {
        let vec4s = max(1, (D + 3) / 4)
        var split = 1
        while split < 8 && split * 8 < vec4s { split *= 2 }
        let slice = (vec4s + split - 1) / split, padded = split * slice
        func sharedBytes(_ rows: Int, _ block: Int) -> Int {
            let partials = rows * split * (block + 1) * 4
            switch kernel {
            case .attention: return block * padded * 16 + partials + 2 * rows * 4
            case .attention_backward: return 2 * block * padded * 16 + 2 * partials + 2 * rows * 4
            default: return 2 * block * padded * 16 + 2 * partials + 4 * block * 4
            }
        }
        var cap = 1
        while cap < T && cap < 64 { cap *= 2 }
        let sizes = [64, 32, 16, 8, 4, 2, 1].filter { $0 <= cap }
        for minimumBlock in [min(8, cap), 1] {
            for rows in sizes where rows * split <= device.maxWorkgroupInvocations {
                for block in sizes where block <= 32 && block >= minimumBlock && sharedBytes(rows, block) <= device.sharedMemory {
                    (self.rows, self.block, self.split, self.slice) = (rows, block, split, slice)
                    return
                }
            }
        }
        preconditionFailure("\(kernel): no attention tile for head size \(D) fits \(device.sharedMemory) bytes of shared memory")
    }
}

/// The fused attention dispatches (Shaders/attention*.comp). `lse` and `delta` are the node's
/// B·H·T-float regions of `aux`; the windows are the node's keyStart[T] | keyEnd[T] in `inputs`.
extension VulkanExecutable {
    /// out[B,T,C] and lse[B,H,T] from qkv[B,T,3C].
    func recordAttentionForward(_ r: CommandRecording, out: Operand, lse: Operand, qkv: Operand, keyStart: Operand, keyEnd: Operand,
                                B: Int, T: Int, C: Int, heads: Int) throws {
        let tiles = AttentionTiles(.attention, D: C / heads, T: T, device: r.owner.info)
        try r.dispatch(.attention, constants: tiles.constants, [out, lse, qkv, keyStart, keyEnd], shape(B, T, C, heads),
                       groups: B * heads * ((T + tiles.rows - 1) / tiles.rows))
    }

    /// dqkv[B,T,3C] += the gradient through attention, from dout[B,T,C], out, qkv and lse.
    func recordAttentionBackward(_ r: CommandRecording, dqkv: Operand, dout: Operand, out: Operand, qkv: Operand, lse: Operand, delta: Operand,
                                 keyStart: Operand, keyEnd: Operand, B: Int, T: Int, C: Int, heads: Int) throws {
        try r.dispatch(.attention_delta, [delta, dout, out], shape(B, T, C, heads), items: B * heads * T)
        let operands = [dqkv, dout, qkv, lse, delta, keyStart, keyEnd]
        for kernel in [Kernel.attention_backward, .attention_backward_keys] {
            let tiles = AttentionTiles(kernel, D: C / heads, T: T, device: r.owner.info)
            try r.dispatch(kernel, constants: tiles.constants, operands, shape(B, T, C, heads), groups: B * heads * ((T + tiles.rows - 1) / tiles.rows))
        }
    }

    private func shape(_ B: Int, _ T: Int, _ C: Int, _ H: Int) throws -> [PushScalar] { try [B, T, C, H].map(PushScalar.size) }
}
