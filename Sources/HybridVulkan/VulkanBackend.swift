import Foundation
import HybridCore

/// The Vulkan backend: every op, its backward and AdamW as compute shaders on one device.
/// Parameters live in mapped device memory (`VulkanParameterMemory`), so checkpoints read and
/// write them in place; activations live in each executable's arena.
public final class VulkanBackend: Backend {
    public let device: VulkanDevice

    public init(device: VulkanDevice) {
        self.device = device
    }

    public var deviceDescription: String { "vulkan \(device.info.name) (\(device.info.kind.rawValue), \(device.info.driver))" }

    public func compile(_ graph: Graph) throws -> Executable {
        try VulkanExecutable(graph: graph, device: device)
    }

    public func parameterMemory() -> ParameterMemory { VulkanParameterMemory(device) }

    public func adamwStep(_ parameters: ParameterStore, settings s: AdamWSettings, step: Int) {
        precondition(step >= 1, "AdamW: step is 1-based, got \(step)")
        let memory = Self.memory(of: parameters, on: device)
        // The scalars exactly as AdamW.swift computes them.
        let stepSize = Float(Double(s.learningRate) / (1 - pow(Double(s.beta1), Double(step))))
        let rootCorrection2 = Float((1 - pow(Double(s.beta2), Double(step))).squareRoot())
        run("an AdamW step") {
            let recording = try CommandRecording(device, set: try memory.descriptorSet())
            for info in parameters.parameters {
                let o = info.offset
                let decay = 1 - s.learningRate * (info.decay ? s.weightDecay : 0)
                try recording.dispatch(.adamw, push: [
                    operand(.values, o), operand(.gradients, o), operand(.firstMoments, o), operand(.secondMoments, o), UInt32(info.count),
                    s.beta1.bitPattern, s.beta2.bitPattern, s.eps.bitPattern, decay.bitPattern, stepSize.bitPattern, rootCorrection2.bitPattern,
                ], items: info.count)
            }
            try recording.run()
        }
    }

    public func gradientNorm(_ parameters: ParameterStore) -> Double {
        let memory = Self.memory(of: parameters, on: device)
        var result: Float = 0
        run("the gradient norm") {
            let scratch = try memory.scratch()
            let n = parameters.count, chunk = 16384
            let groups = (n + chunk - 1) / chunk
            let recording = try CommandRecording(device, set: try memory.descriptorSet())
            // Partial sums of squares per slice into scratch[1...], then their sum into scratch[0].
            try recording.dispatch(.sum, push: [operand(.aux, 1), operand(.gradients, 0), UInt32(n), 0, 0, 0, 0, 1, UInt32(chunk), Float(1).bitPattern],
                                   groups: groups)
            try recording.dispatch(.sum, push: [operand(.aux, 0), operand(.aux, 1), UInt32(groups), 0, 0, 0, 0, 0, UInt32(groups), Float(1).bitPattern],
                                   groups: 1)
            try recording.run()
            try scratch.download(offset: 0, count: 1, into: &result)
        }
        return Double(result).squareRoot()
    }

    public func scaleGradients(_ parameters: ParameterStore, by factor: Float) {
        let memory = Self.memory(of: parameters, on: device)
        run("scaling the gradients") {
            let recording = try CommandRecording(device, set: try memory.descriptorSet())
            let g = operand(.gradients, 0)
            try recording.dispatch(.scale, push: [g, g, UInt32(parameters.count), factor.bitPattern],
                                   items: parameters.count)
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

/// The tensor at `offset` elements into buffer `slot`, as the shaders address it (common.glsl).
func operand(_ slot: BufferSlot, _ offset: Int) -> UInt32 {
    precondition(offset >= 0 && offset < 1 << 29, "a tensor offset of \(offset) elements is past what an operand can name")
    return slot.rawValue << 29 | UInt32(offset)
}

/// Runs device work from a non-throwing Backend/Executable entry point. A device that fails or
/// stops answering mid-run (device lost, a submit past the timeout) cannot be recovered from:
/// stop with what went wrong rather than return numbers that were never computed.
func run(_ what: String, _ body: () throws -> Void) {
    do { try body() } catch { fatalError("Vulkan: \(what) failed: \(error)") }
}

/// A parameter store's four buffers in host-visible device memory, plus a small scratch buffer
/// and the descriptor set the optimizer kernels use.
public final class VulkanParameterMemory: ParameterMemory {
    let owner: VulkanDevice
    private(set) var buffers: [VulkanBuffer] = []
    private var set: DescriptorSet?
    private var scratchBuffer: VulkanBuffer?

    init(_ owner: VulkanDevice) {
        self.owner = owner
    }

    public func allocate(count: Int) -> ParameterBuffers {
        precondition(buffers.isEmpty, "a parameter memory holds one store")
        do {
            buffers = try ["parameters", "gradients", "AdamW first moments", "AdamW second moments"].map {
                try VulkanBuffer(owner, count: count, hostVisible: true, purpose: $0)
            }
        } catch {
            fatalError("Vulkan: allocating \(count) parameters failed: \(error)")
        }
        return ParameterBuffers(values: buffers[0].mapped!, gradients: buffers[1].mapped!,
                                firstMoments: buffers[2].mapped!, secondMoments: buffers[3].mapped!)
    }

    /// One float per 16384 gradients and one more (the gradient norm's partial sums).
    func scratch() throws -> VulkanBuffer {
        if let scratchBuffer { return scratchBuffer }
        let b = try VulkanBuffer(owner, count: buffers[0].count / 16384 + 2, hostVisible: false, purpose: "the gradient-norm scratch")
        scratchBuffer = b
        return b
    }

    func descriptorSet() throws -> DescriptorSet {
        if let set { return set }
        let s = try scratch()
        let made = try DescriptorSet(owner, buffers: [s] + buffers + [s, s])
        set = made
        return made
    }
}
