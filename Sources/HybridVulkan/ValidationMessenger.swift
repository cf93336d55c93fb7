import CVulkan
import Foundation

/// Counts and prints what the Khronos validation layer reports (HYBRID_VULKAN_VALIDATION=1),
/// so a test can require zero errors.
final class ValidationMessenger {
    private(set) var errors = 0
    private var handle: VkDebugUtilsMessengerEXT?

    init(_ instance: VkInstance, _ vki: InstanceFunctions) throws {
        guard let create = vki.createDebugUtilsMessenger else {
            throw VulkanError("the validation layer is enabled but VK_EXT_debug_utils is missing")
        }
        var info = VkDebugUtilsMessengerCreateInfoEXT()
        info.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT
        info.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT.rawValue | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT.rawValue
        info.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT.rawValue | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT.rawValue
            | VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT.rawValue
        info.pfnUserCallback = { severity, _, data, user in
            let me = Unmanaged<ValidationMessenger>.fromOpaque(user!).takeUnretainedValue()
            let message = data?.pointee.pMessage.map { String(cString: $0) } ?? "(no message)"
            let isError = severity.rawValue & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT.rawValue != 0
            if isError { me.errors += 1 }
            FileHandle.standardError.write(Data("vulkan validation \(isError ? "error" : "warning"): \(message)\n".utf8))
            return VkBool32(VK_FALSE)
        }
        info.pUserData = Unmanaged.passUnretained(self).toOpaque()
        try check(create(instance, &info, nil, &handle), "creating the validation messenger")
    }

    func destroy(_ instance: VkInstance, _ vki: InstanceFunctions) {
        if let handle { vki.destroyDebugUtilsMessenger?(instance, handle, nil) }
        handle = nil
    }
}
