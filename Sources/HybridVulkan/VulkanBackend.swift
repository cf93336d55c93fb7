import Foundation
import HybridCore

/// The Vulkan backend: every op, its backward and AdamW as compute shaders on one device.
/// Parameters live in device memory with a host copy (`VulkanParameterMemory`); activations
/// live in each executable's arena.
public final class VulkanBackend: Backend {
    public let device: VulkanDevice
    /// `precision: mixed`: activations in bfloat16 (MixedPrecision.swift); parameters,
    /// gradients and AdamW stay fp32 either way.
    public let mixedPrecision: Bool

    /// Throws where `mixedPrecision` asks for 16-bit storage the device lacks.
    public init(device: VulkanDevice, mixedPrecision: Bool = false) throws {
        guard !mixedPrecision || device.info.storage16 else {
            throw VulkanError("precision: mixed keeps activations in bfloat16, which needs 16-bit storage buffers (storageBuffer16BitAccess); "
                + "\(device.info.name) has none: use precision: fp32")
        }
        self.device = device
        self.mixedPrecision = mixedPrecision
    }

    public var deviceDescription: String {
        "vulkan \(device.info.name) (\(device.info.kind.rawValue), \(device.info.driver))" + (mixedPrecision ? ", mixed precision (bfloat16 activations)" : "")
    }

    public func compile(_ graph: Graph) throws -> Executable {
        try VulkanExecutable(graph: graph, device: device, mixed: mixedPrecision)
    }

    public func parameterMemory() -> ParameterMemory { VulkanParameterMemory(device) }

    public func adamwStep(_ parameters: ParameterStore, settings s: AdamWSettings, step: Int) {
        run("an AdamW step") {
            let copy = try Self.memory(of: parameters, on: device).prepare(parameters, writes: [.values, .moments])
            let recording = try CommandRecording(device, set: copy.set)
            let stores = [0, 1] + copy.momentStores
            let fp32 = parameters.momentPrecision == .fp32
            // One dispatch per parameter, side by side (disjoint memory), one barrier after the last.
            for (k, info) in parameters.parameters.enumerated() {
                let operands = try stores.map { try copy.operand(base: copy.base(store: $0), offset: info.offset, count: info.count) }
                let c = s.scalars(step: step, decays: info.decay)
                let scalars: [PushScalar] = try [.size(info.count), .float(s.beta1), .float(s.beta2), .float(s.eps),
                                                 .float(c.decay), .float(c.stepSize), .float(c.rootCorrection2)]
                try recording.dispatch(fp32 ? .adamw : .adamw_bf16, operands,
                                       scalars + (fp32 ? [] : [try .size(info.offset), .uint(UInt32(truncatingIfNeeded: step))]),
                                       items: info.count, barrier: k == parameters.parameters.count - 1)
            }
            try recording.run()
        }
    }

    public func gradientNorm(_ parameters: ParameterStore) -> Double {
        var result: Float = 0
        run("the gradient norm") {
            let copy = try Self.memory(of: parameters, on: device).prepare(parameters, writes: [])
            let chunk = 16384, layout = copy.layout, scratch = copy.scratchOperand
            let recording = try CommandRecording(device, set: copy.set)
            // Partial sums of squares per slice of each gradient chunk into scratch[2...], then their sum into scratch[0].
            var partials = 0
            for k in 0..<layout.chunks {
                let n = layout.elements(inChunk: k), groups = (n + chunk - 1) / chunk
                let gradients = Operand(buffer: UInt32(copy.base(.gradients) + k), offset: 0)
                let into = Operand(buffer: scratch.buffer, offset: UInt32(2 + partials))
                try recording.dispatch(.sum, [into, gradients, .none, .none], [.size(n), 0, 0, 1, .size(chunk), 1.0], groups: groups)
                partials += groups
            }
            let sums = Operand(buffer: scratch.buffer, offset: 2)
            try recording.dispatch(.sum, [scratch, sums, .none, .none], [.size(partials), 0, 0, 0, .size(partials), 1.0], groups: 1)
            try recording.run()
            try copy.scratch.download(offset: 0, count: 1, into: &result)
        }
        return Double(result).squareRoot()
    }

    public func scaleGradients(_ parameters: ParameterStore, by factor: Float) {
        run("scaling the gradients") {
            let copy = try Self.memory(of: parameters, on: device).prepare(parameters, writes: [.gradients])
            let recording = try CommandRecording(device, set: copy.set)
            for k in 0..<copy.layout.chunks {
                let g = Operand(buffer: UInt32(copy.base(.gradients) + k), offset: 0), n = copy.layout.elements(inChunk: k)
                try recording.dispatch(.scale, [g, g], [.size(n), .float(factor)], items: n)
            }
            try recording.run()
        }
    }

    static func memory(of parameters: ParameterStore, on device: VulkanDevice) -> VulkanParameterMemory {
        guard let memory = parameters.memory as? VulkanParameterMemory, memory.owner === device else {
            preconditionFailure("these parameters were not allocated by this Vulkan backend (materialize with backend.parameterMemory())")
        }
        return memory
    }
}

/// Runs device work from a non-throwing Backend/Executable entry point. A device that fails or
/// stops answering mid-run (device lost, a submit past the timeout) cannot be recovered from:
/// stop with what went wrong rather than return numbers that were never computed.
func run(_ what: String, _ body: () throws -> Void) {
    do { try body() } catch { fatalError("Vulkan: \(what) failed: \(error)") }
}
