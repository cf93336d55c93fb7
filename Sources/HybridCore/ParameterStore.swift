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

    public private(set) var values: UnsafeMutablePointer<Float>?
    public private(set) var gradients: UnsafeMutablePointer<Float>?
    public private(set) var firstMoments: UnsafeMutablePointer<Float>?
    public private(set) var secondMoments: UnsafeMutablePointer<Float>?
    /// Owns the four buffers (host memory, or mapped device memory for a GPU backend).
    public private(set) var memory: ParameterMemory?

    public init() {}

    public var isMaterialized: Bool { values != nil }

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
        let buffers = memory.allocate(count: max(count, 1))
        self.memory = memory
        values = buffers.values
        gradients = buffers.gradients
        firstMoments = buffers.firstMoments
        secondMoments = buffers.secondMoments
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

    public func zeroGradients() {
        gradients?.update(repeating: 0, count: count)
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

/// Where a parameter store lives. The object owns the memory it hands out and frees it when
/// it goes; a GPU backend hands out mapped device memory so its kernels read the same floats
/// the checkpoint code writes.
public protocol ParameterMemory: AnyObject {
    /// Four zeroed buffers of `count` floats each, valid while this object lives.
    func allocate(count: Int) -> ParameterBuffers
}

/// Plain host memory, 64-byte aligned.
public final class HostParameterMemory: ParameterMemory {
    private var blocks: [UnsafeMutableRawPointer] = []

    public init() {}

    deinit { blocks.forEach { $0.deallocate() } }

    public func allocate(count: Int) -> ParameterBuffers {
        func zeroed() -> UnsafeMutablePointer<Float> {
            let raw = UnsafeMutableRawPointer.allocate(byteCount: count * 4, alignment: 64)
            blocks.append(raw)
            return raw.initializeMemory(as: Float.self, repeating: 0, count: count)
        }
        return ParameterBuffers(values: zeroed(), gradients: zeroed(), firstMoments: zeroed(), secondMoments: zeroed())
    }
}
