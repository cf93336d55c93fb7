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

    public init() {}

    deinit {
        for buffer in [values, gradients, firstMoments, secondMoments] { buffer?.deallocate() }
    }

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

    /// Allocates the four buffers and fills the values from `seed`. Each parameter draws
    /// from its own stream keyed by its name, so values do not depend on declaration order.
    public func materialize(seed: UInt64) {
        precondition(!isMaterialized, "parameters are materialized once")
        func zeroed() -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
            p.initialize(repeating: 0, count: max(count, 1))
            return p
        }
        values = zeroed()
        gradients = zeroed()
        firstMoments = zeroed()
        secondMoments = zeroed()
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
