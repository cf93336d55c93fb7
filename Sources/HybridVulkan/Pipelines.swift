import CVulkan

/// The layouts every pipeline shares: binding 0 is an array of `bindingCount` storage buffers
/// (Shaders/common.glsl's BUFFERS), and a kernel names a tensor by an `Operand` (buffer index,
/// element offset) in its push constants, so one descriptor set per executable serves all its
/// dispatches; one push-constant range of 128 bytes (every device offers that much).
struct PipelineLayouts {
    let descriptorSet: VkDescriptorSetLayout
    let pipeline: VkPipelineLayout
    static let pushConstantBytes = 128
    static let bindingCount = 32

    init(_ vk: DeviceFunctions, _ device: VkDevice) throws {
        var binding = VkDescriptorSetLayoutBinding()
        binding.binding = 0
        binding.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER
        binding.descriptorCount = UInt32(Self.bindingCount)
        binding.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT.rawValue
        var setLayout: VkDescriptorSetLayout?
        let r1 = withUnsafePointer(to: &binding) { b in
            var info = VkDescriptorSetLayoutCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO
            info.bindingCount = 1
            info.pBindings = b
            return vk.createDescriptorSetLayout(device, &info, nil, &setLayout)
        }
        try check(r1, "creating the descriptor-set layout")
        descriptorSet = setLayout!
        var range = VkPushConstantRange()
        range.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT.rawValue
        range.size = UInt32(Self.pushConstantBytes)
        var layout: VkPipelineLayout?
        var setLayouts: [VkDescriptorSetLayout?] = [setLayout]
        let r2 = withUnsafePointer(to: &range) { r in
            setLayouts.withUnsafeMutableBufferPointer { s in
                var info = VkPipelineLayoutCreateInfo()
                info.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO
                info.setLayoutCount = 1
                info.pSetLayouts = UnsafePointer(s.baseAddress)
                info.pushConstantRangeCount = 1
                info.pPushConstantRanges = r
                return vk.createPipelineLayout(device, &info, nil, &layout)
            }
        }
        try check(r2, "creating the pipeline layout")
        pipeline = layout!
    }

    func destroy(_ vk: DeviceFunctions, _ device: VkDevice) {
        vk.destroyPipelineLayout(device, pipeline, nil)
        vk.destroyDescriptorSetLayout(device, descriptorSet, nil)
    }
}

/// A pipeline is one kernel with its specialization constants (ids 0, 1, …), in the fp32 or
/// the mixed-precision build.
struct PipelineKey: Hashable {
    var kernel: Kernel
    var constants: [UInt32]
    var mixed = false
}

extension VulkanDevice {
    /// The pipeline for `key`, compiled on first use.
    func pipeline(_ key: PipelineKey) throws -> VkPipeline {
        if let p = pipelines[key] { return p }
        let code = key.kernel.spirv(mixed: key.mixed)
        var module: VkShaderModule?
        let r1 = code.withUnsafeBufferPointer { words in
            var info = VkShaderModuleCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO
            info.codeSize = words.count * 4
            info.pCode = words.baseAddress
            return vk.createShaderModule(device, &info, nil, &module)
        }
        try check(r1, "loading the \(key.kernel) shader")
        defer { vk.destroyShaderModule(device, module, nil) }
        var entries = key.constants.indices.map { i in
            VkSpecializationMapEntry(constantID: UInt32(i), offset: UInt32(i * 4), size: 4)
        }
        var data = key.constants
        var pipeline: VkPipeline?
        let r2 = entries.withUnsafeMutableBufferPointer { e in
            data.withUnsafeMutableBytes { d in
                "main".withCString { entry in
                    var specialization = VkSpecializationInfo(mapEntryCount: UInt32(e.count), pMapEntries: e.baseAddress,
                                                              dataSize: d.count, pData: d.baseAddress)
                    return withUnsafePointer(to: &specialization) { s in
                        var stage = VkPipelineShaderStageCreateInfo()
                        stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO
                        stage.stage = VK_SHADER_STAGE_COMPUTE_BIT
                        stage.module = module
                        stage.pName = entry
                        stage.pSpecializationInfo = s
                        var info = VkComputePipelineCreateInfo()
                        info.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO
                        info.stage = stage
                        info.layout = layouts.pipeline
                        return vk.createComputePipelines(device, nil, 1, &info, nil, &pipeline)
                    }
                }
            }
        }
        try check(r2, "compiling the \(key.kernel) pipeline")
        pipelines[key] = pipeline!
        return pipeline!
    }
}
