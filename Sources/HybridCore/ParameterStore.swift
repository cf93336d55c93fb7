/// Every parameter of a model in one flat buffer, with its gradient and AdamW moments in
/// three more of the same length (llm.c's `malloc_and_point_parameters`): the optimizer is
/// one loop and a checkpoint is one write.
///
/// Parameters are registered by name while graphs are built; objectives that ask for the
/// same name share the parameter. `materialize` then allocates and initializes the buffers,
/// after which no new names may be added.

public enum ParameterInit: Sendable, Equatable {
    case zeros
    case ones
    case normal(std: Float)
}

public struct ParameterInfo: Sendable {
    public var name: String
    public var shape: [Int]
    public var offset: Int
    public var initializer: ParameterInit
    /// AdamW's decoupled weight decay applies to matrices and embeddings, not to biases and
    /// LayerNorm parameters.
    public var decay: Bool
    public var count: Int { shape.reduce(1, *) }
}

public final class ParameterStore {
    public private(set) var parameters: [ParameterInfo] = []
    private var index: [String: Int] = [:]
    /// Total elements; offsets are padded to 16 floats so every parameter starts 64-byte aligned.
    public private(set) var count = 0

    /// The host's view of the four buffers. Each getter first tells `memory` the host is about
    /// to read or write that buffer, so a GPU backend brings a newer device copy back first and
    /// uploads the host's copy before its next kernel reads it. Take a pointer for one access,
    /// never across device work.
    public var values: UnsafeMutablePointer<Float>? { host(.values) }
    public var gradients: UnsafeMutablePointer<Float>? { host(.gradients) }
    public var firstMoments: UnsafeMutablePointer<Float>? { host(.firstMoments) }
    public var secondMoments: UnsafeMutablePointer<Float>? { host(.secondMoments) }
    /// Owns the four buffers (host memory, or a GPU backend's device memory with a host copy).
    public private(set) var memory: ParameterMemory?
    private var buffers: ParameterBuffers?

    public init() {}

    public var isMaterialized: Bool { buffers != nil }

    private func host(_ which: ParameterBuffer) -> UnsafeMutablePointer<Float>? {
        guard let buffers, let memory else { return nil }
        memory.hostAccess(which)
        switch which {
        case .values: return buffers.values
        case .gradients: return buffers.gradients
        case .firstMoments: return buffers.firstMoments
        case .secondMoments: return buffers.secondMoments
        }
    }

    /// The parameter called `name`, registering it on first use.
    public func declare(_ name: String, shape: [Int], initializer: ParameterInit, decay: Bool) throws -> ParameterInfo {
        if let i = index[name] {
            let existing = parameters[i]
            guard existing.shape == shape else {
                throw GraphError("parameter \(name) is declared with shape \(shape) but already exists with shape \(existing.shape)")
            }
            return existing
        }
        guard !isMaterialized else {
            throw GraphError("parameter \(name) is new, but the model's parameters are already allocated; every objective must declare its parameters when the run starts")
        }
        guard !shape.isEmpty, shape.allSatisfy({ $0 > 0 }) else {
            throw GraphError("parameter \(name) has an invalid shape \(shape)")
        }
        let info = ParameterInfo(name: name, shape: shape, offset: count, initializer: initializer, decay: decay)
        index[name] = parameters.count
        parameters.append(info)
        count += (info.count + 15) & ~15
        return info
    }

    public func parameter(named name: String) -> ParameterInfo? {
        index[name].map { parameters[$0] }
    }

    /// Allocates the four buffers from `memory` (the backend's: `Backend.parameterMemory()`)
    /// and fills the values from `seed`. Each parameter draws from its own stream keyed by its
    /// name, so values do not depend on declaration order.
    public func materialize(seed: UInt64, memory: ParameterMemory = HostParameterMemory()) {
        precondition(!isMaterialized, "parameters are materialized once")
        buffers = memory.allocate(count: max(count, 1))
        self.memory = memory
        for info in parameters { initialize(info, seed: seed) }
    }

    private func initialize(_ info: ParameterInfo, seed: UInt64) {
        let p = values! + info.offset
        switch info.initializer {
        case .zeros: p.update(repeating: 0, count: info.count)
        case .ones: p.update(repeating: 1, count: info.count)
        case .normal(let std):
            var rng = RandomStream(seed: seed, stream: RandomStream.streamID(info.name))
            for i in 0..<info.count { p[i] = rng.normal() * std }
        }
    }

    /// Sets every gradient to 0 where the gradients live (on the device for a GPU backend).
    public func zeroGradients() {
        memory?.zeroGradients()
    }
}

/// The four zeroed buffers of a parameter store, each `count` floats.
public struct ParameterBuffers {
    public var values, gradients, firstMoments, secondMoments: UnsafeMutablePointer<Float>

    public init(values: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>,
                firstMoments: UnsafeMutablePointer<Float>, secondMoments: UnsafeMutablePointer<Float>) {
        self.values = values
        self.gradients = gradients
        self.firstMoments = firstMoments
        self.secondMoments = secondMoments
    }
}

/// One of a parameter store's four buffers.
public enum ParameterBuffer: Int, CaseIterable, Sendable {
    case values, gradients, firstMoments, secondMoments
}

/// Where a parameter store lives. The object owns the memory it hands out and frees it when
/// it goes. A GPU backend hands out a host copy and keeps the kernels' copy in device memory,
/// kept coherent through `hostAccess`.
public protocol ParameterMemory: AnyObject {
    /// Four zeroed buffers of `count` floats each, valid while this object lives.
    func allocate(count: Int) -> ParameterBuffers
    /// The host is about to read or write `buffer` through its pointer.
    func hostAccess(_ buffer: ParameterBuffer)
    /// Sets every gradient to 0.
    func zeroGradients()
}

/// Plain host memory, 64-byte aligned.
public final class HostParameterMemory: ParameterMemory {
    private var blocks: [UnsafeMutableRawPointer] = []
    private var gradients: UnsafeMutableBufferPointer<Float>?

    public init() {}

    deinit { blocks.forEach { $0.deallocate() } }

    public func allocate(count: Int) -> ParameterBuffers {
        func zeroed() -> UnsafeMutablePointer<Float> {
            let raw = UnsafeMutableRawPointer.allocate(byteCount: count * 4, alignment: 64)
            blocks.append(raw)
            return raw.initializeMemory(as: Float.self, repeating: 0, count: count)
        }
        let buffers = ParameterBuffers(values: zeroed(), gradients: zeroed(), firstMoments: zeroed(), secondMoments: zeroed())
        gradients = UnsafeMutableBufferPointer(start: buffers.gradients, count: count)
        return buffers
    }

    /// The host's memory is the only copy.
    public func hostAccess(_ buffer: ParameterBuffer) {}

    public func zeroGradients() {
        gradients?.update(repeating: 0)
    }
}
