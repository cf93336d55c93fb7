import CVulkan
import Glibc

/// One storage buffer with its own memory, at most the device's storage-buffer range.
/// Host-visible buffers (graph inputs, staging) are mapped for their whole life; the others
/// take device-local memory where the device has it and are never mapped, so every device
/// moves their data one way: through the device's staging buffer (`download`, `upload`).
final class VulkanBuffer {
    let owner: VulkanDevice
    let buffer: VkBuffer
    let memory: VkDeviceMemory
    let count: Int
    /// The floats, for a host-visible buffer.
    let mapped: UnsafeMutablePointer<Float>?
    private let bytes: Int

    /// A zeroed buffer of `count` floats. `hostVisible` requires a mapping (inputs and staging,
    /// which the host writes every step); otherwise device-local memory is preferred.
    init(_ owner: VulkanDevice, count: Int, hostVisible: Bool, purpose: String) throws {
        let (bytes, overflow) = max(count, 1).multipliedReportingOverflow(by: 4)
        guard !overflow, bytes <= owner.info.maxStorageBufferRange, bytes <= owner.info.maxMemoryAllocationSize else {
            throw VulkanError("\(purpose) needs \(count / (1 << 18)) MiB in one storage buffer, more than \(owner.info.name) allows "
                + "(maxStorageBufferRange \(owner.info.maxStorageBufferRange >> 20) MiB, maxMemoryAllocationSize "
                + "\(owner.info.maxMemoryAllocationSize >> 20) MiB); use a smaller batch or model")
        }
        self.owner = owner
        self.count = count
        self.bytes = bytes
        let vk = owner.vk, device = owner.device
        var info = VkBufferCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        info.size = VkDeviceSize(bytes)
        info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT.rawValue | VK_BUFFER_USAGE_TRANSFER_SRC_BIT.rawValue
            | VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue
        info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        var buffer: VkBuffer?
        try check(vk.createBuffer(device, &info, nil, &buffer), "creating a buffer for \(purpose)")
        var requirements = VkMemoryRequirements()
        vk.getBufferMemoryRequirements(device, buffer, &requirements)
        let local = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT.rawValue
        let host = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT.rawValue | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT.rawValue
        let candidates = hostVisible ? [local | host, host] : [local, host]
        guard let type = owner.memoryType(bits: requirements.memoryTypeBits, preferring: candidates) else {
            vk.destroyBuffer(device, buffer, nil)
            throw VulkanError("\(owner.info.name) has no memory type for \(purpose)\(hostVisible ? " that the host can map" : "")")
        }
        var allocate = VkMemoryAllocateInfo()
        allocate.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO
        allocate.allocationSize = requirements.size
        allocate.memoryTypeIndex = type.index
        var memory: VkDeviceMemory?
        let result = vk.allocateMemory(device, &allocate, nil, &memory)
        guard result == VK_SUCCESS else {
            vk.destroyBuffer(device, buffer, nil)
            throw VulkanError("allocating \(bytes >> 20) MiB for \(purpose) on \(owner.info.name) failed: \(result.name) "
                + "(\(owner.allocatedBytes >> 20) MiB already allocated by this run, of \(owner.info.deviceMemory >> 20) MiB of device memory)")
        }
        try check(vk.bindBufferMemory(device, buffer, memory, 0), "binding memory for \(purpose)")
        self.buffer = buffer!
        self.memory = memory!
        owner.allocatedBytes += bytes
        if hostVisible {
            var pointer: UnsafeMutableRawPointer?
            try check(vk.mapMemory(device, memory, 0, VkDeviceSize(VK_WHOLE_SIZE), 0, &pointer), "mapping \(purpose)")
            mapped = pointer!.bindMemory(to: Float.self, capacity: max(count, 1))
            mapped!.initialize(repeating: 0, count: max(count, 1))
        } else {
            mapped = nil
            let recording = try CommandRecording(owner, set: nil)
            try recording.fill(self, offset: 0, count: max(count, 1), value: 0)
            try recording.run()
        }
    }

    deinit {
        owner.allocatedBytes -= bytes
        owner.vk.destroyBuffer(owner.device, buffer, nil)
        owner.vk.freeMemory(owner.device, memory, nil)   // unmaps too
    }

    /// Copies `count` floats from element `offset` into `into`.
    func download(offset: Int, count: Int, into: UnsafeMutablePointer<Float>) throws {
        precondition(offset >= 0 && count >= 0 && offset + count <= max(self.count, 1), "a read past the end of a buffer")
        if let mapped { into.update(from: mapped + offset, count: count); return }
        try owner.throughStaging(count: count) { staging, done, n in
            let recording = try CommandRecording(owner, set: nil)
            try recording.copy(from: self, offset: offset + done, to: staging, offset: 0, count: n)
            try recording.run()
            (into + done).update(from: staging.mapped!, count: n)
        }
    }

    /// Copies `count` floats from `from` to element `offset` on.
    func upload(from: UnsafePointer<Float>, offset: Int, count: Int) throws {
        precondition(offset >= 0 && count >= 0 && offset + count <= max(self.count, 1), "a write past the end of a buffer")
        if let mapped { (mapped + offset).update(from: from, count: count); return }
        try owner.throughStaging(count: count) { staging, done, n in
            staging.mapped!.update(from: from + done, count: n)
            let recording = try CommandRecording(owner, set: nil)
            try recording.copy(from: staging, offset: 0, to: self, offset: offset + done, count: n)
            try recording.run()
        }
    }
}

/// One descriptor set (from its own pool) binding up to `bindingCount` buffers in order; the
/// rest of the array names the first buffer (every descriptor a shader declares must be valid).
final class DescriptorSet {
    let owner: VulkanDevice
    let pool: VkDescriptorPool
    let set: VkDescriptorSet
    /// Kept alive while the set names them.
    private let buffers: [VulkanBuffer]

    init(_ owner: VulkanDevice, buffers: [VulkanBuffer]) throws {
        precondition(!buffers.isEmpty && buffers.count <= PipelineLayouts.bindingCount, "a descriptor set binds 1…\(PipelineLayouts.bindingCount) buffers")
        self.owner = owner
        self.buffers = buffers
        let vk = owner.vk, device = owner.device
        var size = VkDescriptorPoolSize(type: VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, descriptorCount: UInt32(PipelineLayouts.bindingCount))
        var pool: VkDescriptorPool?
        let r1 = withUnsafePointer(to: &size) { s in
            var info = VkDescriptorPoolCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO
            info.maxSets = 1
            info.poolSizeCount = 1
            info.pPoolSizes = s
            return vk.createDescriptorPool(device, &info, nil, &pool)
        }
        try check(r1, "creating a descriptor pool")
        self.pool = pool!
        var layout: VkDescriptorSetLayout? = owner.layouts.descriptorSet
        var set: VkDescriptorSet?
        let r2 = withUnsafePointer(to: &layout) { l in
            var info = VkDescriptorSetAllocateInfo()
            info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO
            info.descriptorPool = pool
            info.descriptorSetCount = 1
            info.pSetLayouts = l
            return vk.allocateDescriptorSets(device, &info, &set)
        }
        try check(r2, "allocating a descriptor set")
        self.set = set!
        let padded = buffers + Array(repeating: buffers[0], count: PipelineLayouts.bindingCount - buffers.count)
        var infos = padded.map { VkDescriptorBufferInfo(buffer: $0.buffer, offset: 0, range: VkDeviceSize(max($0.count, 1) * 4)) }
        infos.withUnsafeMutableBufferPointer { b in
            var write = VkWriteDescriptorSet()
            write.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET
            write.dstSet = set
            write.dstBinding = 0
            write.descriptorCount = UInt32(b.count)
            write.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER
            write.pBufferInfo = UnsafePointer(b.baseAddress)
            vk.updateDescriptorSets(device, 1, &write, 0, nil)
        }
    }

    deinit { owner.vk.destroyDescriptorPool(owner.device, pool, nil) }
}
