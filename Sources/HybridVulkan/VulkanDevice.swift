import CVulkan
import Glibc

/// What one Vulkan device offers, for the capability line and for tile sizes.
public struct VulkanDeviceInfo: Sendable {
    public var index: Int
    public var name: String
    public var driver: String
    public var kind: Kind
    public var subgroupSize: Int
    public var sharedMemory: Int
    public var maxWorkgroupInvocations: Int
    public var maxStorageBufferRange: Int
    public var fp16: Bool
    /// 16-bit loads and stores in storage buffers (storageBuffer16BitAccess): what
    /// `precision: mixed` needs for its bfloat16 activations.
    public var storage16: Bool
    /// The largest single allocation the driver promises (Vulkan 1.1 maintenance3).
    public var maxMemoryAllocationSize: Int
    /// The size of the largest device-local memory heap, in bytes.
    public var deviceMemory: Int
    /// Storage buffers one shader stage may bind.
    public var maxStorageBuffers: Int

    public enum Kind: String, Sendable { case discrete, integrated, virtual, cpu, other }

    public init(index: Int, name: String, driver: String, kind: Kind, subgroupSize: Int, sharedMemory: Int,
                maxWorkgroupInvocations: Int, maxStorageBufferRange: Int, fp16: Bool,
                storage16: Bool = false, maxMemoryAllocationSize: Int = 1 << 31, deviceMemory: Int = 1 << 33, maxStorageBuffers: Int = 32) {
        self.index = index
        self.name = name
        self.driver = driver
        self.kind = kind
        self.subgroupSize = subgroupSize
        self.sharedMemory = sharedMemory
        self.maxWorkgroupInvocations = maxWorkgroupInvocations
        self.maxStorageBufferRange = maxStorageBufferRange
        self.fp16 = fp16
        self.storage16 = storage16
        self.maxMemoryAllocationSize = maxMemoryAllocationSize
        self.deviceMemory = deviceMemory
        self.maxStorageBuffers = maxStorageBuffers
    }

    /// One line: name, driver, type, subgroup size, shared memory, fp16, 16-bit storage, largest storage buffer.
    public var capabilityLine: String {
        "vulkan device \(index): \(name) (\(kind.rawValue), driver \(driver)): subgroup \(subgroupSize), "
            + "shared memory \(sharedMemory / 1024) KiB, fp16 \(fp16 ? "yes" : "no"), "
            + "16-bit storage \(storage16 ? "yes" : "no"), "
            + "storage buffer range \(maxStorageBufferRange / (1 << 20)) MiB, device memory \(deviceMemory / (1 << 20)) MiB"
    }
}

/// The matrix-product kernels: `tiled` stages operand tiles in shared memory (GPUs): 64×64
/// tiles (matmul.comp), or 128×128 (matmul_large.comp) for products of at least
/// `VulkanExecutable.largeTiles` such tiles; `large` uses the 128×128 kernel for every product
/// (tests); `direct` reads operands straight from memory, which suits CPU-type devices
/// (lavapipe runs a workgroup on one thread and splits it at every barrier).
/// HYBRID_VULKAN_MATMUL overrides the default (direct on CPU-type devices, else tiled).
public enum MatmulKernel: String, Sendable, CaseIterable {
    case tiled, direct, large
}

/// One instance, one logical device with one compute queue, its pipelines and a fence. Owns
/// every Vulkan object made through it: buffers and executables hold it strongly, so it is torn
/// down last, explicitly in `deinit` (never from a static destructor).
public final class VulkanDevice {
    public let info: VulkanDeviceInfo
    let loader: VulkanLoader
    let instance: VkInstance
    let vki: InstanceFunctions
    let physical: VkPhysicalDevice
    let device: VkDevice
    let vk: DeviceFunctions
    let queue: VkQueue
    let queueFamily: UInt32
    let commandPool: VkCommandPool
    let fence: VkFence
    let memoryProperties: VkPhysicalDeviceMemoryProperties
    let minStorageOffsetAlignment: Int
    let layouts: PipelineLayouts
    var pipelines: [PipelineKey: VkPipeline] = [:]
    private let messenger: ValidationMessenger?
    /// Which matrix-product kernel graphs compiled from now on use.
    public var matmul: MatmulKernel
    /// How long a submit may run before it is an error.
    let timeoutNanoseconds: UInt64
    /// Bytes this process holds in buffers on the device now.
    var allocatedBytes = 0
    /// The most bytes one buffer of a store holds: the device's limits, or less where a test
    /// sets it (stores then split into more chunks, exercising the same code as a large model).
    var bufferLimit: Int
    var chunkElements: Int { bufferLimit / 4 }
    /// The device memory a run may fill: the largest device-local heap, or less where a test
    /// sets it. Graphs and parameters past it are refused before anything is allocated.
    var memoryLimit: Int
    /// The most floats one staging buffer holds (larger transfers go in pieces).
    static let stagingElements = 1 << 22

    /// Every Vulkan device the loader reports, without opening any. Throws when there is no
    /// loader or no instance can be made.
    public static func survey() throws -> [VulkanDeviceInfo] {
        let loader = try VulkanLoader()
        let (instance, vki, _) = try makeInstance(loader, validation: false)
        defer { vki.destroyInstance(instance, nil) }
        return try physicalDevices(instance, vki).enumerated().map { describe($1, index: $0, vki) }
    }

    /// Opens device `index` of `survey()`'s list.
    public init(index: Int) throws {
        let validation = getenvString("HYBRID_VULKAN_VALIDATION") == "1"
        loader = try VulkanLoader()
        let (instance, vki, messenger) = try Self.makeInstance(loader, validation: validation)
        self.instance = instance
        self.vki = vki
        self.messenger = messenger
        let all: [VkPhysicalDevice]
        do { all = try Self.physicalDevices(instance, vki) } catch { vki.destroyInstance(instance, nil); throw error }
        guard all.indices.contains(index) else {
            messenger?.destroy(instance, vki)
            vki.destroyInstance(instance, nil)
            throw VulkanError("there is no Vulkan device \(index) (found \(all.count)\(all.isEmpty ? "" : ": 0..<\(all.count)"))")
        }
        let physical = all[index]
        self.physical = physical
        info = Self.describe(physical, index: index, vki)
        var properties = VkPhysicalDeviceProperties()
        vki.getPhysicalDeviceProperties(physical, &properties)
        minStorageOffsetAlignment = Int(properties.limits.minStorageBufferOffsetAlignment)
        memoryLimit = info.deviceMemory
        bufferLimit = min(info.maxStorageBufferRange, info.maxMemoryAllocationSize, ChunkLayout.maxChunkElements * 4) / 64 * 64
        guard info.maxStorageBuffers >= PipelineLayouts.bindingCount else {
            messenger?.destroy(instance, vki)
            vki.destroyInstance(instance, nil)
            throw VulkanError("\(info.name) lets a shader bind \(info.maxStorageBuffers) storage buffers; hybrid's kernels bind \(PipelineLayouts.bindingCount)")
        }
        var memory = VkPhysicalDeviceMemoryProperties()
        vki.getPhysicalDeviceMemoryProperties(physical, &memory)
        memoryProperties = memory
        matmul = MatmulKernel(rawValue: getenvString("HYBRID_VULKAN_MATMUL") ?? "") ?? (info.kind == .cpu ? .direct : .tiled)
        timeoutNanoseconds = UInt64((getenvString("HYBRID_VULKAN_TIMEOUT").flatMap(Double.init) ?? 300) * 1e9)

        var familyCount: UInt32 = 0
        vki.getPhysicalDeviceQueueFamilyProperties(physical, &familyCount, nil)
        var families = [VkQueueFamilyProperties](repeating: VkQueueFamilyProperties(), count: Int(familyCount))
        vki.getPhysicalDeviceQueueFamilyProperties(physical, &familyCount, &families)
        guard let family = families.firstIndex(where: { $0.queueFlags & VK_QUEUE_COMPUTE_BIT.rawValue != 0 }) else {
            throw VulkanError("\(info.name) has no compute queue")
        }
        queueFamily = UInt32(family)

        var priority: Float = 1
        var queueInfo = VkDeviceQueueCreateInfo()
        queueInfo.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO
        queueInfo.queueFamilyIndex = queueFamily
        queueInfo.queueCount = 1
        var features = VkPhysicalDeviceFeatures()
        features.shaderStorageBufferArrayDynamicIndexing = VkBool32(VK_TRUE)
        var storage16 = VkPhysicalDevice16BitStorageFeatures()
        storage16.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES
        storage16.storageBuffer16BitAccess = VkBool32(VK_TRUE)
        let enable16 = info.storage16
        var device: VkDevice?
        let result = withUnsafePointer(to: &priority) { p in
            queueInfo.pQueuePriorities = p
            return withUnsafePointer(to: &queueInfo) { q in
                withUnsafePointer(to: &features) { f in
                    withUnsafeMutablePointer(to: &storage16) { s16 in
                        var create = VkDeviceCreateInfo()
                        create.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO
                        create.pNext = enable16 ? UnsafeRawPointer(s16) : nil
                        create.queueCreateInfoCount = 1
                        create.pQueueCreateInfos = q
                        create.pEnabledFeatures = f
                        return vki.createDevice(physical, &create, nil, &device)
                    }
                }
            }
        }
        guard result == VK_SUCCESS, let device else {
            messenger?.destroy(instance, vki)
            vki.destroyInstance(instance, nil)
            throw VulkanError("creating a logical device on \(info.name) failed: \(result.name)")
        }
        self.device = device
        vk = try DeviceFunctions(instance: vki, device: device)
        var queue: VkQueue?
        vk.getDeviceQueue(device, queueFamily, 0, &queue)
        self.queue = queue!

        var poolInfo = VkCommandPoolCreateInfo()
        poolInfo.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO
        poolInfo.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT.rawValue
        poolInfo.queueFamilyIndex = queueFamily
        var pool: VkCommandPool?
        try check(vk.createCommandPool(device, &poolInfo, nil, &pool), "creating a command pool")
        commandPool = pool!
        var fenceInfo = VkFenceCreateInfo()
        fenceInfo.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO
        var fence: VkFence?
        try check(vk.createFence(device, &fenceInfo, nil, &fence), "creating a fence")
        self.fence = fence!
        layouts = try PipelineLayouts(vk, device)
    }

    deinit {
        _ = vk.deviceWaitIdle(device)
        for pipeline in pipelines.values { vk.destroyPipeline(device, pipeline, nil) }
        layouts.destroy(vk, device)
        vk.destroyFence(device, fence, nil)
        vk.destroyCommandPool(device, commandPool, nil)
        vk.destroyDevice(device, nil)
        messenger?.destroy(instance, vki)
        vki.destroyInstance(instance, nil)
    }

    /// Runs `body(staging, done, n)` for consecutive pieces of `count` floats through one
    /// host-visible staging buffer made for the transfer.
    func throughStaging(count: Int, _ body: (VulkanBuffer, Int, Int) throws -> Void) throws {
        let staging = try VulkanBuffer(self, count: min(max(count, 1), Self.stagingElements), hostVisible: true, purpose: "a staging buffer")
        var done = 0
        while done < count {
            let n = min(count - done, Self.stagingElements)
            try body(staging, done, n)
            done += n
        }
    }

    /// Validation-layer errors reported so far (0 unless HYBRID_VULKAN_VALIDATION=1).
    public var validationErrors: Int { messenger?.errors ?? 0 }
    /// Whether the Khronos validation layer watches this device (HYBRID_VULKAN_VALIDATION=1).
    public var validationEnabled: Bool { messenger != nil }

    /// Submits `commandBuffers` in order, one submit each (a cap on the work of one submit),
    /// and waits for the last; a wait past the timeout is an error.
    func submitAndWait(_ commandBuffers: [VkCommandBuffer?]) throws {
        try check(vk.resetFences(device, 1, [fence]), "resetting the fence")
        for (i, cb) in commandBuffers.enumerated() {
            var buffer = cb
            let result = withUnsafePointer(to: &buffer) { p in
                var submit = VkSubmitInfo()
                submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO
                submit.commandBufferCount = 1
                submit.pCommandBuffers = p
                return vk.queueSubmit(queue, 1, &submit, i == commandBuffers.count - 1 ? fence : nil)
            }
            try check(result, "submitting work to \(info.name)")
        }
        let wait = vk.waitForFences(device, 1, [fence], VkBool32(VK_TRUE), timeoutNanoseconds)
        if wait == VK_TIMEOUT {
            throw VulkanError("\(info.name) did not finish a submit within \(timeoutNanoseconds / 1_000_000_000) s "
                + "(HYBRID_VULKAN_TIMEOUT sets the limit in seconds)")
        }
        try check(wait, "waiting for \(info.name)")
    }

    /// The index of a memory type allowed by `bits` with all of `flags`, trying each set in order.
    func memoryType(bits: UInt32, preferring candidates: [VkMemoryPropertyFlags]) -> (index: UInt32, flags: VkMemoryPropertyFlags)? {
        let types = withUnsafeBytes(of: memoryProperties.memoryTypes) { Array($0.bindMemory(to: VkMemoryType.self)) }
        for wanted in candidates {
            for i in 0..<Int(memoryProperties.memoryTypeCount) where bits & (1 << i) != 0 {
                if types[i].propertyFlags & wanted == wanted { return (UInt32(i), types[i].propertyFlags) }
            }
        }
        return nil
    }

    // MARK: instance and physical devices

    private static func makeInstance(_ loader: VulkanLoader, validation: Bool) throws -> (VkInstance, InstanceFunctions, ValidationMessenger?) {
        var app = VkApplicationInfo()
        app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO
        app.apiVersion = (1 << 22) | (2 << 12)   // VK_API_VERSION_1_2
        let layers = validation ? ["VK_LAYER_KHRONOS_validation"] : []
        let extensions = validation ? ["VK_EXT_debug_utils"] : []
        if validation {
            var count: UInt32 = 0
            _ = loader.enumerateInstanceLayerProperties(&count, nil)
            var found = [VkLayerProperties](repeating: VkLayerProperties(), count: Int(count))
            _ = loader.enumerateInstanceLayerProperties(&count, &found)
            let names = found.map { layer in withUnsafeBytes(of: layer.layerName) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) } }
            guard names.contains("VK_LAYER_KHRONOS_validation") else {
                throw VulkanError("HYBRID_VULKAN_VALIDATION=1 but the Khronos validation layer is not installed (Debian: vulkan-validationlayers)")
            }
        }
        var instance: VkInstance?
        let result = withCStrings(layers) { layerNames in
            withCStrings(extensions) { extensionNames in
                withUnsafePointer(to: &app) { appPointer in
                    var create = VkInstanceCreateInfo()
                    create.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO
                    create.pApplicationInfo = appPointer
                    create.enabledLayerCount = UInt32(layers.count)
                    create.ppEnabledLayerNames = layerNames
                    create.enabledExtensionCount = UInt32(extensions.count)
                    create.ppEnabledExtensionNames = extensionNames
                    return loader.createInstance(&create, nil, &instance)
                }
            }
        }
        guard result == VK_SUCCESS, let instance else {
            throw VulkanError("creating a Vulkan instance failed: \(result.name) (is a Vulkan driver installed? Debian: mesa-vulkan-drivers)")
        }
        let vki = try InstanceFunctions(loader: loader, instance: instance)
        let messenger = validation ? try ValidationMessenger(instance, vki) : nil
        return (instance, vki, messenger)
    }

    private static func physicalDevices(_ instance: VkInstance, _ vki: InstanceFunctions) throws -> [VkPhysicalDevice] {
        var count: UInt32 = 0
        try check(vki.enumeratePhysicalDevices(instance, &count, nil), "listing Vulkan devices")
        var devices = [VkPhysicalDevice?](repeating: nil, count: Int(count))
        try check(vki.enumeratePhysicalDevices(instance, &count, &devices), "listing Vulkan devices")
        return devices.prefix(Int(count)).compactMap { $0 }
    }

    private static func describe(_ physical: VkPhysicalDevice, index: Int, _ vki: InstanceFunctions) -> VulkanDeviceInfo {
        var subgroup = VkPhysicalDeviceSubgroupProperties()
        subgroup.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES
        var driver = VkPhysicalDeviceDriverProperties()
        driver.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES
        var maintenance3 = VkPhysicalDeviceMaintenance3Properties()
        maintenance3.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES
        var properties = VkPhysicalDeviceProperties2()
        properties.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2
        withUnsafeMutablePointer(to: &maintenance3) { m in
            driver.pNext = UnsafeMutableRawPointer(m)
            withUnsafeMutablePointer(to: &driver) { d in
                subgroup.pNext = UnsafeMutableRawPointer(d)
                withUnsafeMutablePointer(to: &subgroup) { s in
                    properties.pNext = UnsafeMutableRawPointer(s)
                    vki.getPhysicalDeviceProperties2(physical, &properties)
                }
            }
        }
        var memory = VkPhysicalDeviceMemoryProperties()
        vki.getPhysicalDeviceMemoryProperties(physical, &memory)
        let heaps = withUnsafeBytes(of: memory.memoryHeaps) { Array($0.bindMemory(to: VkMemoryHeap.self).prefix(Int(memory.memoryHeapCount))) }
        let localHeaps = heaps.filter { $0.flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT.rawValue != 0 }
        let deviceMemory = Int((localHeaps.isEmpty ? heaps : localHeaps).map(\.size).max() ?? 0)
        let p = properties.properties
        let kind: VulkanDeviceInfo.Kind = switch p.deviceType {
        case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: .discrete
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: .integrated
        case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: .virtual
        case VK_PHYSICAL_DEVICE_TYPE_CPU: .cpu
        default: .other
        }
        func text<T>(_ tuple: T) -> String {
            withUnsafeBytes(of: tuple) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        }
        let driverInfo = text(driver.driverInfo)
        let features = Self.features(physical, vki)
        return VulkanDeviceInfo(
            index: index, name: text(p.deviceName),
            driver: text(driver.driverName) + (driverInfo.isEmpty ? "" : " " + driverInfo), kind: kind,
            subgroupSize: Int(subgroup.subgroupSize), sharedMemory: Int(p.limits.maxComputeSharedMemorySize),
            maxWorkgroupInvocations: Int(p.limits.maxComputeWorkGroupInvocations),
            maxStorageBufferRange: Int(p.limits.maxStorageBufferRange),
            fp16: features.fp16, storage16: features.storage16,
            maxMemoryAllocationSize: Int(clamping: maintenance3.maxMemoryAllocationSize), deviceMemory: deviceMemory,
            maxStorageBuffers: Int(min(p.limits.maxPerStageDescriptorStorageBuffers, p.limits.maxDescriptorSetStorageBuffers)))
    }

    /// fp16 arithmetic (shaderFloat16) and 16-bit storage-buffer access.
    private static func features(_ physical: VkPhysicalDevice, _ vki: InstanceFunctions) -> (fp16: Bool, storage16: Bool) {
        guard let get = vki.getPhysicalDeviceFeatures2 else { return (false, false) }
        var float16 = VkPhysicalDeviceShaderFloat16Int8Features()
        float16.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES
        var storage16 = VkPhysicalDevice16BitStorageFeatures()
        storage16.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES
        var features = VkPhysicalDeviceFeatures2()
        features.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2
        withUnsafeMutablePointer(to: &storage16) { s in
            float16.pNext = UnsafeMutableRawPointer(s)
            withUnsafeMutablePointer(to: &float16) { f in
                features.pNext = UnsafeMutableRawPointer(f)
                get(physical, &features)
            }
        }
        return (float16.shaderFloat16 != 0, storage16.storageBuffer16BitAccess != 0)
    }
}

/// Calls `body` with a C array of C strings that lives for the call.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    let pointers = copies.map { UnsafePointer<CChar>($0) }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
}
