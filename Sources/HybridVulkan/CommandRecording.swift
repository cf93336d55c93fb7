import CVulkan

/// A sequence of dispatches, fills and copies recorded once and replayed by `run()`. Every
/// command is followed by a full compute/transfer barrier (the graph is a chain: each op reads
/// what an earlier one wrote), and the commands are split over command buffers of at most
/// `commandsPerSubmit`, each submitted on its own, so no single submit runs long enough to
/// trip a driver's watchdog.
final class CommandRecording {
    let owner: VulkanDevice
    private let set: DescriptorSet?
    /// Whether its dispatches use the mixed-precision kernels (bfloat16 operands).
    private let mixed: Bool
    private var buffers: [VkCommandBuffer?] = []
    private var current: VkCommandBuffer?
    private var commandsInCurrent = 0
    private var finished = false
    static let commandsPerSubmit = 256

    init(_ owner: VulkanDevice, set: DescriptorSet?, mixed: Bool = false) throws {
        self.owner = owner
        self.set = set
        self.mixed = mixed
    }

    deinit {
        if !buffers.isEmpty { owner.vk.freeCommandBuffers(owner.device, owner.commandPool, UInt32(buffers.count), buffers) }
    }

    var isEmpty: Bool { buffers.isEmpty }

    /// One dispatch of `groups` workgroups (spread over x and y: at most 65535 in a dimension;
    /// kernels rebuild the flat group index and skip groups past their work). The push
    /// constants are the operands (two words each) then the scalars, checked against the
    /// kernel's `pushLayout`, its shader's declaration.
    /// `barrier: false` lets the next command run alongside this one: only for commands that
    /// touch disjoint outputs and read nothing the other writes (the next barrier covers both).
    func dispatch(_ kernel: Kernel, constants: [UInt32]? = nil, _ operands: [Operand], _ scalars: [PushScalar], groups: Int,
                  barrier: Bool = true) throws {
        let push = try kernel.pushLayout.words(kernel, operands, scalars)
        guard groups > 0 else { return }
        guard groups <= 65535 * 65535 else { throw VulkanError("\(kernel): \(groups) workgroups is past what one dispatch can name") }
        let pipeline = try owner.pipeline(PipelineKey(kernel: kernel, constants: constants ?? kernel.defaultConstants(owner.info), mixed: mixed))
        let cb = try commandBuffer()
        let vk = owner.vk
        vk.cmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline)
        push.withUnsafeBytes { vk.cmdPushConstants(cb, owner.layouts.pipeline, VK_SHADER_STAGE_COMPUTE_BIT.rawValue, 0, UInt32($0.count), $0.baseAddress) }
        let x = min(groups, 65535)
        vk.cmdDispatch(cb, UInt32(x), UInt32((groups + x - 1) / x), 1)
        if barrier { self.barrier(cb) }
    }

    /// One dispatch of a one-invocation-per-item kernel over `items` items.
    func dispatch(_ kernel: Kernel, _ operands: [Operand], _ scalars: [PushScalar], items: Int, barrier: Bool = true) throws {
        try dispatch(kernel, operands, scalars, groups: kernel.groups(items, owner.info), barrier: barrier)
    }

    /// Sets `count` elements from `offset` to the 32-bit pattern `value`.
    func fill(_ buffer: VulkanBuffer, offset: Int, count: Int, value: UInt32) throws {
        guard count > 0 else { return }
        let cb = try commandBuffer()
        owner.vk.cmdFillBuffer(cb, buffer.buffer, VkDeviceSize(offset * 4), VkDeviceSize(count * 4), value)
        barrier(cb)
    }

    func copy(from source: VulkanBuffer, offset: Int, to destination: VulkanBuffer, offset destinationOffset: Int, count: Int) throws {
        guard count > 0 else { return }
        let cb = try commandBuffer()
        var region = VkBufferCopy(srcOffset: VkDeviceSize(offset * 4), dstOffset: VkDeviceSize(destinationOffset * 4), size: VkDeviceSize(count * 4))
        owner.vk.cmdCopyBuffer(cb, source.buffer, destination.buffer, 1, &region)
        barrier(cb)
    }

    /// Submits every command buffer and waits.
    func run() throws {
        if !finished { try finish() }
        guard !buffers.isEmpty else { return }
        try owner.submitAndWait(buffers)
    }

    private func finish() throws {
        if let current { try endBuffer(current) }
        current = nil
        finished = true
    }

    private func commandBuffer() throws -> VkCommandBuffer {
        precondition(!finished, "a recording is replayed, never extended")
        if let current, commandsInCurrent < Self.commandsPerSubmit {
            commandsInCurrent += 1
            return current
        }
        if let current { try endBuffer(current) }
        var info = VkCommandBufferAllocateInfo()
        info.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO
        info.commandPool = owner.commandPool
        info.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY
        info.commandBufferCount = 1
        var cb: VkCommandBuffer?
        try check(owner.vk.allocateCommandBuffers(owner.device, &info, &cb), "allocating a command buffer")
        buffers.append(cb)
        var begin = VkCommandBufferBeginInfo()
        begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO
        try check(owner.vk.beginCommandBuffer(cb, &begin), "beginning a command buffer")
        if let set {
            var handle: VkDescriptorSet? = set.set
            owner.vk.cmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, owner.layouts.pipeline, 0, 1, &handle, 0, nil)
        }
        current = cb
        commandsInCurrent = 1
        return cb!
    }

    private func endBuffer(_ cb: VkCommandBuffer) throws {
        // Make the last writes visible to the host, which reads mapped memory after the fence.
        var toHost = VkMemoryBarrier()
        toHost.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER
        toHost.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT.rawValue | VK_ACCESS_TRANSFER_WRITE_BIT.rawValue
        toHost.dstAccessMask = VK_ACCESS_HOST_READ_BIT.rawValue
        owner.vk.cmdPipelineBarrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT.rawValue | VK_PIPELINE_STAGE_TRANSFER_BIT.rawValue,
                                    VK_PIPELINE_STAGE_HOST_BIT.rawValue, 0, 1, &toHost, 0, nil, 0, nil)
        try check(owner.vk.endCommandBuffer(cb), "ending a command buffer")
    }

    private func barrier(_ cb: VkCommandBuffer) {
        var barrier = VkMemoryBarrier()
        barrier.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER
        barrier.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT.rawValue | VK_ACCESS_TRANSFER_WRITE_BIT.rawValue
        barrier.dstAccessMask = VK_ACCESS_SHADER_READ_BIT.rawValue | VK_ACCESS_SHADER_WRITE_BIT.rawValue
            | VK_ACCESS_TRANSFER_READ_BIT.rawValue | VK_ACCESS_TRANSFER_WRITE_BIT.rawValue
        let stages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT.rawValue | VK_PIPELINE_STAGE_TRANSFER_BIT.rawValue
        owner.vk.cmdPipelineBarrier(cb, stages, stages, 0, 1, &barrier, 0, nil, 0, nil)
    }
}
