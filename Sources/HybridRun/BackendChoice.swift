import HybridCore
import HybridCPU
import HybridRecipe
import HybridTrain
import HybridVulkan

/// Picks the compute backend a recipe's `device:` and `precision:` ask for, and says which and why.
public enum BackendChoice {
    /// `localRank`: a data-parallel rank's place on its host (which GPU it takes). Mixed
    /// precision runs on Vulkan only: where `auto` finds no Vulkan device it is an error, not
    /// fp32; `cpu` asked for by name (`--device cpu` for sampling a mixed checkpoint: recipes
    /// refuse the pair) runs fp32 and says so. `recompute` is the CPU backend's; Vulkan keeps
    /// every activation and refuses `products`.
    public static func make(_ device: Recipe.Device, precision: Recipe.Precision = .fp32, recompute: TrainingConfig.Recompute = .cheap,
                     localRank: Int = 0, log: (String) -> Void) throws -> Backend {
        let recomputed: MemoryPlan.Recompute = recompute == .products ? .products : .cheap
        func cpu(_ reason: String) throws -> Backend {
            guard precision == .fp32 else {
                throw TrainError("precision: mixed runs on a Vulkan device, but \(reason); use precision: fp32 (--set precision=fp32) on the CPU")
            }
            let backend = CPUBackend(recompute: recomputed)
            log("device: \(backend.deviceDescription) (\(reason))")
            return backend
        }
        switch device {
        case .cpu:
            let backend = CPUBackend(recompute: recomputed)
            log("device: \(backend.deviceDescription) (recipe asks for cpu)" + (precision == .mixed ? " in fp32 (mixed precision is Vulkan's)" : ""))
            return backend
        case .auto, .vulkan:
            let automatic = device == .auto
            func keepsEveryActivation() throws {
                guard recompute == .cheap else {
                    throw TrainError("training.recompute: products is the CPU backend's; the Vulkan backend keeps every activation (use training.recompute: cheap, or device: cpu)")
                }
            }
            if !automatic { try keepsEveryActivation() }
            let devices: [VulkanDeviceInfo]
            do {
                devices = try VulkanDevice.survey()
            } catch {
                guard automatic else { throw TrainError("device: vulkan, but Vulkan is unavailable: \(error)") }
                return try cpu("auto: \(error)")
            }
            devices.forEach { log($0.capabilityLine) }
            let (index, reason) = VulkanDeviceChoice.pick(devices, forced: try VulkanDeviceChoice.forcedIndex(), automatic: automatic, localRank: localRank)
            guard let index else {
                guard automatic else {
                    throw TrainError("device: vulkan, but \(reason); install a Vulkan driver (Debian: mesa-vulkan-drivers gives lavapipe) or use device: cpu")
                }
                return try cpu(reason)
            }
            try keepsEveryActivation()
            let backend = try VulkanBackend(device: try VulkanDevice(index: index), mixedPrecision: precision == .mixed)
            log("device: \(backend.deviceDescription) (\(reason))")
            return backend
        }
    }
}

