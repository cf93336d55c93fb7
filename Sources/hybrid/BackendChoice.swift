import ArgumentParser
import HybridCore
import HybridCPU
import HybridRecipe
import HybridTrain
import HybridVulkan

/// Picks the compute backend a recipe's `device:` asks for, and says which and why.
enum BackendChoice {
    /// `localRank`: a data-parallel rank's place on its host (which GPU it takes).
    static func make(_ device: Recipe.Device, localRank: Int = 0, log: (String) -> Void) throws -> Backend {
        switch device {
        case .cpu:
            let backend = CPUBackend()
            log("device: \(backend.deviceDescription) (recipe asks for cpu)")
            return backend
        case .auto, .vulkan:
            let automatic = device == .auto
            let devices: [VulkanDeviceInfo]
            do {
                devices = try VulkanDevice.survey()
            } catch {
                guard automatic else { throw TrainError("device: vulkan, but Vulkan is unavailable: \(error)") }
                let backend = CPUBackend()
                log("device: \(backend.deviceDescription) (auto: \(error))")
                return backend
            }
            devices.forEach { log($0.capabilityLine) }
            let (index, reason) = VulkanDeviceChoice.pick(devices, forced: try VulkanDeviceChoice.forcedIndex(), automatic: automatic, localRank: localRank)
            guard let index else {
                guard automatic else {
                    throw TrainError("device: vulkan, but \(reason); install a Vulkan driver (Debian: mesa-vulkan-drivers gives lavapipe) or use device: cpu")
                }
                let backend = CPUBackend()
                log("device: \(backend.deviceDescription) (\(reason))")
                return backend
            }
            let backend = VulkanBackend(device: try VulkanDevice(index: index))
            log("device: \(backend.deviceDescription) (\(reason))")
            return backend
        }
    }
}

extension Recipe.Device: ExpressibleByArgument {}
