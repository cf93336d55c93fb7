import Foundation

/// Every compute shader, one per file in Shaders/ (the raw value is the file name).
enum Kernel: String, CaseIterable {
    case add, axpy, mul, mul_accumulate, scale, add_broadcast, column_sum, gelu, mean_backward
    case embedding, embedding_backward, adamw, adamw_bf16, layer_norm, layer_norm_parameters
    case cross_entropy, cross_entropy_backward, mse, sum
    case attention, attention_delta, attention_backward, attention_backward_keys, attention_decode
    case matmul, matmul_direct, matmul_large
    case sequence_copy

    /// SPIR-V words (little-endian), from Generated/SPIRV.swift: the `mixed` build reads and
    /// writes bfloat16 operands too (Shaders/common.glsl).
    func spirv(mixed: Bool) -> [UInt32] {
        let name = rawValue + (mixed ? "_mixed" : "")
        guard let text = spirvBase64[name], let data = Data(base64Encoded: text), data.count % 4 == 0 else {
            preconditionFailure("Generated/SPIRV.swift lacks the \(name) kernel: run scripts/compile-shaders")
        }
        return data.withUnsafeBytes { Array($0.bindMemory(to: UInt32.self)) }
    }

    /// Workgroup-shape specialization constants for `device`.
    func defaultConstants(_ device: VulkanDeviceInfo) -> [UInt32] {
        switch self {
        case .sum:
            return [UInt32(min(64, device.maxWorkgroupInvocations))]        // reduce.glsl: a power of two
        case .layer_norm:
            return [64]    // one workgroup per row; the executable picks the width from the row (layerNormWidth)
        case .cross_entropy, .attention_delta:
            return [64]    // one row per invocation: small groups keep a GPU's cores busy at a few thousand rows
        case .attention, .attention_backward, .attention_backward_keys:
            return AttentionTiles(self, D: 64, T: 1024, device: device).constants   // the dispatches pick per D
        case .matmul:
            // 16×16 invocations with 2·16·64 floats of shared memory, else 8×8 (every device
            // offers 128 invocations and 16 KiB).
            return [device.maxWorkgroupInvocations >= 256 && device.sharedMemory >= 8192 ? 16 : 8]
        case .matmul_large:
            return [0, 0]    // transA, transB; 16×16 invocations fixed in the shader
        default:
            return [UInt32(min(256, device.maxWorkgroupInvocations))]
        }
    }

    /// Workgroups for `n` invocations of this kernel (one-invocation-per-item kernels).
    func groups(_ n: Int, _ device: VulkanDeviceInfo) -> Int {
        let size = Int(defaultConstants(device)[0])
        return (n + size - 1) / size
    }
}
