import HybridCore
import HybridCPU
import HybridRecipe
import HybridTrain

/// Picks the compute backend a recipe's `device:` asks for.
enum BackendChoice {
    static func make(_ device: Recipe.Device, log: (String) -> Void) throws -> Backend {
        switch device {
        case .cpu:
            let backend = CPUBackend()
            log("device: \(backend.deviceDescription) (recipe asks for cpu)")
            return backend
        case .auto:
            let backend = CPUBackend()
            log("device: \(backend.deviceDescription) (auto: this build has no GPU backend yet)")
            return backend
        case .vulkan:
            throw TrainError("device: vulkan is not available yet: this build of hybrid has only the CPU backend; use device: cpu or auto")
        }
    }
}
