/// A tensor as a kernel names it (Shaders/common.glsl): the index of its buffer in the
/// descriptor array and its element offset in that buffer. Both 32-bit: a buffer is at most
/// `ChunkLayout.maxChunkElements` floats, so every in-bounds index fits.
struct Operand: Equatable {
    var buffer: UInt32
    var offset: UInt32
    /// An operand no kernel reads (an absent gradient or bias: its flag is off).
    static let none = Operand(buffer: 0, offset: 0)

    /// `count` elements further into the same buffer (a tensor never crosses one).
    func advanced(by count: Int) -> Operand { Operand(buffer: buffer, offset: offset + UInt32(count)) }
}

/// A size or index for a kernel's push constants, checked: a value past 32 bits is an error
/// naming it, never a trap (UInt32(_:) would stop the process without a word).
func word(_ n: Int) throws -> UInt32 {
    guard let w = UInt32(exactly: n) else { throw VulkanError("a size of \(n) would reach a kernel, past what 32 bits hold") }
    return w
}

/// Bytes as MiB with one decimal, for messages about memory.
func mib(_ bytes: Int) -> String {
    "\(bytes >> 20).\(((bytes & ((1 << 20) - 1)) * 10) >> 20) MiB"
}

/// How a store of `count` floats splits into chunks of `chunkElements`, each one storage buffer
/// (no Vulkan buffer can be bound past `maxStorageBufferRange`, nor allocated past
/// `maxMemoryAllocationSize`). A tensor must lie within one chunk: the arena plan and the
/// parameter layout never place one across a boundary. Pure arithmetic on `Int` (64-bit), so
/// offsets past 2³¹ and 2³² elements are exact; what reaches a shader is checked to fit 32 bits.
struct ChunkLayout: Equatable {
    let count: Int
    let chunkElements: Int

    /// 2³⁰ floats (4 GiB), the most any device's storage-buffer range allows.
    static let maxChunkElements = 1 << 30

    /// `chunkElements` rounded down to the arena alignment (16 floats), at most 2³⁰.
    init(count: Int, chunkElements: Int) {
        precondition(count >= 0 && chunkElements >= 16, "a chunk layout needs a count ≥ 0 and chunks of ≥ 16 floats")
        self.count = count
        self.chunkElements = min(chunkElements, Self.maxChunkElements) / 16 * 16
    }

    var chunks: Int { max(1, (count + chunkElements - 1) / chunkElements) }

    /// Elements in chunk `k` (the last one may be short; at least 1, so a buffer exists).
    func elements(inChunk k: Int) -> Int { max(1, min(chunkElements, count - k * chunkElements)) }

    /// The chunk and the offset in it of the `n` elements at `offset`; throws where they run
    /// past the store or across a chunk boundary (a placement bug, reported, never a trap).
    func locate(offset: Int, count n: Int) throws -> (chunk: Int, offset: Int) {
        guard offset >= 0, n >= 0, offset + n <= max(count, 1) else {
            throw VulkanError("a tensor of \(n) floats at element \(offset) runs past its store of \(count)")
        }
        let chunk = offset / chunkElements, local = offset - chunk * chunkElements
        guard local + n <= chunkElements else {
            throw VulkanError("a tensor of \(n) floats at element \(offset) crosses a buffer boundary (buffers of \(chunkElements) floats)")
        }
        return (chunk, local)
    }

    /// The pieces of elements `offset..<offset+n`, chunk by chunk (for host transfers).
    func pieces(offset: Int, count n: Int) -> [(chunk: Int, offset: Int, count: Int)] {
        var result: [(Int, Int, Int)] = []
        var at = offset, left = n
        while left > 0 {
            let chunk = at / chunkElements, local = at - chunk * chunkElements
            let take = min(left, chunkElements - local)
            result.append((chunk, local, take))
            at += take
            left -= take
        }
        return result
    }
}

/// A store of `count` floats in device memory, one `VulkanBuffer` per chunk of its layout.
/// Device-local where the device has such memory: the host reaches it only through the
/// device's staging buffer (`download`, `upload`), one path on every device.
final class VulkanStore {
    let layout: ChunkLayout
    let chunks: [VulkanBuffer]

    init(_ owner: VulkanDevice, count: Int, purpose: String) throws {
        let layout = ChunkLayout(count: count, chunkElements: owner.chunkElements)
        self.layout = layout
        chunks = try (0..<layout.chunks).map { k in
            try VulkanBuffer(owner, count: layout.elements(inChunk: k), hostVisible: false,
                             purpose: layout.chunks == 1 ? purpose : "\(purpose) (part \(k + 1) of \(layout.chunks))")
        }
    }

    var count: Int { layout.count }

    /// The buffer and offset of the `n` elements at `offset`.
    func locate(offset: Int, count n: Int) throws -> (buffer: VulkanBuffer, chunk: Int, offset: Int) {
        let (chunk, local) = try layout.locate(offset: offset, count: n)
        return (chunks[chunk], chunk, local)
    }

    func download(offset: Int, count n: Int, into: UnsafeMutablePointer<Float>) throws {
        var done = 0
        for piece in layout.pieces(offset: offset, count: n) {
            try chunks[piece.chunk].download(offset: piece.offset, count: piece.count, into: into + done)
            done += piece.count
        }
    }

    func upload(from: UnsafePointer<Float>, offset: Int, count n: Int) throws {
        var done = 0
        for piece in layout.pieces(offset: offset, count: n) {
            try chunks[piece.chunk].upload(from: from + done, offset: piece.offset, count: piece.count)
            done += piece.count
        }
    }
}
