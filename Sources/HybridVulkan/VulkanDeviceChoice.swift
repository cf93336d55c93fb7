/// Which Vulkan device a run uses, and why, as one line for the log.
public enum VulkanDeviceChoice {
    /// `forced`: HYBRID_VULKAN_DEVICE. `automatic`: `device: auto`, which takes only a real GPU
    /// (llvmpipe and other CPU-type devices are test devices, slower than the CPU backend).
    /// nil index: use the CPU backend. `localRank`: a data-parallel rank's place among the
    /// ranks on its host, so that ranks sharing a host with several GPUs take one each.
    public static func pick(_ devices: [VulkanDeviceInfo], forced: Int?, automatic: Bool, localRank: Int = 0) -> (index: Int?, reason: String) {
        if let forced {
            guard let d = devices.first(where: { $0.index == forced }) else {
                return (nil, "HYBRID_VULKAN_DEVICE=\(forced) names no device (there are \(devices.count))")
            }
            return (d.index, "HYBRID_VULKAN_DEVICE=\(forced) picks \(d.name)")
        }
        let rank: [VulkanDeviceInfo.Kind] = automatic ? [.discrete, .integrated] : [.discrete, .integrated, .virtual, .cpu, .other]
        for kind in rank {
            let candidates = devices.filter { $0.kind == kind }
            guard !candidates.isEmpty else { continue }
            let d = candidates[localRank % candidates.count]
            let which = candidates.count == 1 ? "the first" : "\(kind.rawValue) device \(localRank % candidates.count + 1) of \(candidates.count) for local rank \(localRank):"
            return (d.index, "\(automatic ? "auto" : "device: vulkan") picks \(candidates.count == 1 ? "the first \(kind.rawValue) device," : which) \(d.name)")
        }
        if devices.isEmpty { return (nil, "no Vulkan device is present") }
        return (nil, "auto: no discrete or integrated GPU (only \(devices.map { "\($0.name) (\($0.kind.rawValue))" }.joined(separator: ", ")), "
                + "which the CPU backend outruns)")
    }

    /// HYBRID_VULKAN_DEVICE as a device index; a value that is not one is an error.
    public static func forcedIndex() throws -> Int? {
        guard let text = getenvString("HYBRID_VULKAN_DEVICE") else { return nil }
        guard let index = Int(text), index >= 0 else {
            throw VulkanError("HYBRID_VULKAN_DEVICE=\(text) is not a device index (0, 1, …)")
        }
        return index
    }
}
