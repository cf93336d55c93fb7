import HybridCore

/// A parameter store on a Vulkan device: the four buffers in device-local memory, where the
/// kernels read them at the device's speed, and a host copy that initialization, checkpoints
/// and the data-parallel all-reduce use. Coherence is per buffer and lazy: the host's pointer
/// getters (`hostAccess`) bring back a buffer the device wrote, and the next device use
/// (`prepare`) uploads every buffer the host may have written. A training step touches no host
/// copy, so it moves no parameter data.
public final class VulkanParameterMemory: ParameterMemory {
    let owner: VulkanDevice
    private let host = HostParameterMemory()
    private var hostBuffers: ParameterBuffers?
    private var hostNewer = [Bool](repeating: true, count: 4)
    private var deviceNewer = [Bool](repeating: false, count: 4)
    private var copy: DeviceCopy?

    init(_ owner: VulkanDevice) {
        self.owner = owner
    }

    public func allocate(count: Int) -> ParameterBuffers {
        precondition(hostBuffers == nil, "a parameter memory holds one store")
        let buffers = host.allocate(count: count)
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

    /// The four buffers on the device, laid out so no parameter crosses a buffer boundary.
    final class DeviceCopy {
        let layout: ChunkLayout
        /// values, gradients, first and second moments (ParameterBuffer order).
        let stores: [VulkanStore]
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
            let need = 16 * layout.count, free = owner.memoryLimit - owner.allocatedBytes
            guard need <= free else {
                throw VulkanError("the parameters, their gradients and AdamW moments need \(mib(need)) on \(owner.info.name), "
                    + "which has \(mib(max(free, 0))) of its \(mib(owner.memoryLimit)) free; use a smaller model")
            }
            self.segments = segments
            stores = try ["parameters", "gradients", "AdamW first moments", "AdamW second moments"].map {
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

        /// This copy's own descriptor set: binding of chunk 0 of `buffer`, and of the scratch.
        func base(_ buffer: ParameterBuffer) -> Int { buffer.rawValue * layout.chunks }
        var scratchOperand: Operand { Operand(buffer: UInt32(4 * layout.chunks), offset: 0) }

        func download(_ buffer: ParameterBuffer, into host: ParameterBuffers) throws {
            let to = pointer(buffer, host)
            for s in segments { try stores[buffer.rawValue].download(offset: s.device, count: s.count, into: to + s.host) }
        }

        func upload(_ buffer: ParameterBuffer, from host: ParameterBuffers) throws {
            let from = pointer(buffer, host)
            for s in segments { try stores[buffer.rawValue].upload(from: from + s.host, offset: s.device, count: s.count) }
        }

        private func pointer(_ buffer: ParameterBuffer, _ host: ParameterBuffers) -> UnsafeMutablePointer<Float> {
            switch buffer {
            case .values: host.values
            case .gradients: host.gradients
            case .firstMoments: host.firstMoments
            case .secondMoments: host.secondMoments
            }
        }
    }
}
