import HybridCore

/// A parameter store on a Vulkan device: its buffers in device-local memory, where the
/// kernels read them at the device's speed, and a host copy that initialization, checkpoints
/// and the data-parallel all-reduce use. Coherence is per buffer and lazy: the host's pointer
/// getters (`hostAccess`) bring back a buffer the device wrote, and the next device use
/// (`prepare`) uploads every buffer the host may have written. A training step touches no host
/// copy, so it moves no parameter data.
public final class VulkanParameterMemory: ParameterMemory {
    let owner: VulkanDevice
    private let host = HostParameterMemory()
    private var hostBuffers: ParameterBuffers?
    private var hostNewer = [Bool](repeating: true, count: ParameterBuffer.allCases.count)
    private var deviceNewer = [Bool](repeating: false, count: ParameterBuffer.allCases.count)
    private var copy: DeviceCopy?

    init(_ owner: VulkanDevice) {
        self.owner = owner
    }

    public func allocate(count: Int, moments: MomentPrecision) -> ParameterBuffers {
        precondition(hostBuffers == nil, "a parameter memory holds one store")
        let buffers = host.allocate(count: count, moments: moments)
        hostBuffers = buffers
        return buffers
    }

    public func hostAccess(_ buffer: ParameterBuffer) {
        let b = buffer.rawValue
        if deviceNewer[b], let copy, let hostBuffers {
            run("reading the parameters back from the device") { try copy.download(buffer, into: hostBuffers) }
            deviceNewer[b] = false
        }
        hostNewer[b] = true
    }

    public func zeroGradients() {
        guard let copy else { return host.zeroGradients() }
        run("zeroing the gradients") {
            let recording = try CommandRecording(owner, set: nil)
            for chunk in copy.stores[ParameterBuffer.gradients.rawValue].chunks {
                try recording.fill(chunk, offset: 0, count: max(chunk.count, 1), value: 0)
            }
            try recording.run()
        }
        hostNewer[ParameterBuffer.gradients.rawValue] = false
        deviceNewer[ParameterBuffer.gradients.rawValue] = true
    }

    /// The device copy of `store`, made on first use, with every buffer the host may have
    /// written uploaded; `writes` are the buffers the coming device work changes.
    func prepare(_ store: ParameterStore, writes: [ParameterBuffer]) throws -> DeviceCopy {
        guard let hostBuffers else { throw VulkanError("the parameters are not allocated (materialize them first)") }
        let copy = try self.copy ?? DeviceCopy(owner, store: store)
        self.copy = copy
        for buffer in ParameterBuffer.allCases where hostNewer[buffer.rawValue] {
            try copy.upload(buffer, from: hostBuffers)
            hostNewer[buffer.rawValue] = false
        }
        for buffer in writes { deviceNewer[buffer.rawValue] = true }
        return copy
    }

    /// The buffers on the device, laid out so no parameter crosses a buffer boundary: values,
    /// gradients, then the moments, as one store of bfloat16 pairs or two fp32 stores (first
    /// moments, second moments), each store laid out as the values are.
    final class DeviceCopy {
        let layout: ChunkLayout
        /// values, gradients, then the moment stores.
        let stores: [VulkanStore]
        /// The host parameter count: where the host's second moments start (fp32).
        let hostCount: Int
        /// Runs of parameters whose device offset is their host offset + `shift`.
        let segments: [(host: Int, count: Int, device: Int)]
        /// One float per 16384 gradients of each chunk and two more (the gradient norm's sums).
        let scratch: VulkanBuffer
        /// Binds the four stores' chunks, then the scratch (the optimizer's kernels).
        let set: DescriptorSet

        init(_ owner: VulkanDevice, store: ParameterStore) throws {
            let chunk = ChunkLayout(count: 0, chunkElements: owner.chunkElements).chunkElements
            var segments: [(host: Int, count: Int, device: Int)] = []
            var at = 0
            for p in store.parameters {
                let size = (p.count + 15) & ~15
                guard size <= chunk else {
                    throw VulkanError("parameter \(p.name) \(p.shape) has \(p.count) floats, more than one buffer on \(owner.info.name) holds (\(chunk))")
                }
                if at % chunk + size > chunk { at = (at / chunk + 1) * chunk }
                if let last = segments.last, last.host + last.count == p.offset, last.device + last.count == at {
                    segments[segments.count - 1].count += size
                } else {
                    segments.append((p.offset, size, at))
                }
                at += size
            }
            let layout = ChunkLayout(count: max(at, 1), chunkElements: chunk)
            self.layout = layout
            let purposes = ["parameters", "gradients"]
                + (store.momentPrecision == .fp32 ? ["AdamW first moments", "AdamW second moments"] : ["AdamW moments (bfloat16 pairs)"])
            let need = 4 * purposes.count * layout.count, free = owner.memoryLimit - owner.allocatedBytes
            guard need <= free else {
                throw VulkanError("the parameters, their gradients and AdamW moments need \(mib(need)) on \(owner.info.name), "
                    + "which has \(mib(max(free, 0))) of its \(mib(owner.memoryLimit)) free; use a smaller model")
            }
            self.segments = segments
            hostCount = store.count
            stores = try purposes.map {
                try VulkanStore(owner, count: max(at, 1), purpose: $0)
            }
            let partials = (0..<layout.chunks).reduce(0) { $0 + (layout.elements(inChunk: $1) + 16383) / 16384 }
            scratch = try VulkanBuffer(owner, count: partials + 2, hostVisible: false, purpose: "the gradient-norm scratch")
            let buffers = stores.flatMap(\.chunks) + [scratch]
            guard buffers.count <= PipelineLayouts.bindingCount else {
                throw VulkanError("the parameters need \(buffers.count) buffers of at most \(chunk / (1 << 18)) MiB on \(owner.info.name); kernels bind \(PipelineLayouts.bindingCount)")
            }
            set = try DescriptorSet(owner, buffers: buffers)
        }

        /// Where the `count` floats at host offset `offset` live on the device, as an operand
        /// of a descriptor set whose buffers for `buffer` start at binding `base`.
        func operand(base: Int, offset: Int, count: Int) throws -> Operand {
            var lo = 0, hi = segments.count - 1
            while lo < hi {
                let mid = (lo + hi + 1) / 2
                if segments[mid].host <= offset { lo = mid } else { hi = mid - 1 }
            }
            guard let s = segments.indices.contains(lo) ? segments[lo] : nil, offset >= s.host, offset + count <= s.host + s.count else {
                throw VulkanError("no parameter holds the \(count) floats at \(offset)")
            }
            let (chunk, local) = try layout.locate(offset: s.device + offset - s.host, count: count)
            return Operand(buffer: UInt32(base + chunk), offset: UInt32(local))
        }

        /// This copy's own descriptor set: binding of chunk 0 of store `k` (0 values, 1
        /// gradients, 2 and on the moments), and of the scratch.
        func base(store k: Int) -> Int { k * layout.chunks }
        func base(_ buffer: ParameterBuffer) -> Int { base(store: buffer.rawValue) }
        var scratchOperand: Operand { Operand(buffer: UInt32(stores.count * layout.chunks), offset: 0) }
        /// The stores holding the moments: one of pairs, or first and second moments.
        var momentStores: Range<Int> { ParameterBuffer.moments.rawValue..<stores.count }

        func download(_ buffer: ParameterBuffer, into host: ParameterBuffers) throws {
            for (k, to) in pointers(buffer, host) {
                for s in segments { try stores[k].download(offset: s.device, count: s.count, into: to + s.host) }
            }
        }

        func upload(_ buffer: ParameterBuffer, from host: ParameterBuffers) throws {
            for (k, from) in pointers(buffer, host) {
                for s in segments { try stores[k].upload(from: from + s.host, offset: s.device, count: s.count) }
            }
        }

        /// Each store of `buffer` with the host memory it mirrors (fp32 moments: the host's
        /// second moments follow its `hostCount` first moments).
        private func pointers(_ buffer: ParameterBuffer, _ host: ParameterBuffers) -> [(Int, UnsafeMutablePointer<Float>)] {
            switch buffer {
            case .values: [(0, host.values)]
            case .gradients: [(1, host.gradients)]
            case .moments: momentStores.map { ($0, host.moments + ($0 - momentStores.lowerBound) * hostCount) }
            }
        }
    }
}
