/// Every parameter of a model in one flat buffer, with its gradient in another of the same
/// length and both AdamW moments in a third (llm.c's `malloc_and_point_parameters`): the
/// optimizer is one loop and a checkpoint is one write.
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

    /// The host's view of the three buffers. Each getter first tells `memory` the host is about
    /// to read or write that buffer, so a GPU backend brings a newer device copy back first and
    /// uploads the host's copy before its next kernel reads it. Take a pointer for one access,
    /// never across device work.
    public var values: UnsafeMutablePointer<Float>? { host(.values) }
    public var gradients: UnsafeMutablePointer<Float>? { host(.gradients) }
    /// Both AdamW moments, laid out as `momentPrecision` says; `readMoments`/`writeMoments`
    /// convert one parameter's.
    public var moments: UnsafeMutablePointer<Float>? { host(.moments) }
    /// How the moments are held, chosen at `materialize`.
    public private(set) var momentPrecision = MomentPrecision.fp32
    /// Owns the three buffers (host memory, or a GPU backend's device memory with a host copy).
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
        case .moments: return buffers.moments
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

    /// Allocates the three buffers from `memory` (the backend's: `Backend.parameterMemory()`)
    /// and fills the values from `seed`. Each parameter draws from its own stream keyed by its
    /// name, so values do not depend on declaration order.
    public func materialize(seed: UInt64, memory: ParameterMemory = HostParameterMemory(), moments: MomentPrecision = .fp32) {
        precondition(!isMaterialized, "parameters are materialized once")
        momentPrecision = moments
        buffers = memory.allocate(count: max(count, 1), moments: moments)
        self.memory = memory
        for info in parameters { initialize(info, seed: seed) }
    }

    /// The moments of `info`, widened to fp32: the first into `m`, the second into `v`
    /// (`info.count` floats each; nil skips that moment).
    public func readMoments(of info: ParameterInfo, m: UnsafeMutablePointer<Float>?, v: UnsafeMutablePointer<Float>?) {
        guard let moments else { return }
        switch momentPrecision {
        case .fp32:
            m?.update(from: moments + info.offset, count: info.count)
            v?.update(from: moments + count + info.offset, count: info.count)
        case .bfloat16:
            let pairs = momentPairs(of: info)
            if let m { for i in 0..<info.count { m[i] = BFloat16.float(UInt16(truncatingIfNeeded: pairs[i])) } }
            if let v { for i in 0..<info.count { v[i] = BFloat16.float(UInt16(truncatingIfNeeded: pairs[i] >> 16)) } }
        }
    }

    /// Sets both moments of `info` from fp32 `m` and `v` (rounded to nearest in bfloat16).
    public func writeMoments(of info: ParameterInfo, m: UnsafePointer<Float>, v: UnsafePointer<Float>) {
        guard let moments else { return }
        switch momentPrecision {
        case .fp32:
            (moments + info.offset).update(from: m, count: info.count)
            (moments + count + info.offset).update(from: v, count: info.count)
        case .bfloat16:
            let pairs = momentPairs(of: info)
            for i in 0..<info.count { pairs[i] = UInt32(BFloat16.nearest(m[i])) | UInt32(BFloat16.nearest(v[i])) << 16 }
        }
    }

    /// The bfloat16 moment pairs of `info` (`MomentPrecision.bfloat16`: m low, v high).
    public func momentPairs(of info: ParameterInfo) -> UnsafeMutablePointer<UInt32> {
        precondition(momentPrecision == .bfloat16, "fp32 moments hold no pairs")
        return UnsafeMutableRawPointer(moments! + info.offset).assumingMemoryBound(to: UInt32.self)
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

/// How a parameter store holds the AdamW moments (recipe key `optimizer.moments`).
public enum MomentPrecision: String, CaseIterable, Sendable {
    /// Two fp32 buffers' worth: every first moment, then every second moment.
    case fp32
    /// One 32-bit word per parameter, m in its low half and v in its high half, each
    /// bfloat16 rounded stochastically at every step: a third less optimizer memory (12 bytes
    /// per parameter instead of 16) for a rounding that is unbiased in expectation.
    case bfloat16

    /// The floats both moments of `count` parameters take.
    public func words(_ count: Int) -> Int { self == .fp32 ? 2 * count : count }
}

/// The zeroed buffers of a parameter store: values and gradients of `count` floats, and both
/// moments in `MomentPrecision.words(count)`.
public struct ParameterBuffers {
    public var values, gradients, moments: UnsafeMutablePointer<Float>

    public init(values: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>, moments: UnsafeMutablePointer<Float>) {
        self.values = values
        self.gradients = gradients
        self.moments = moments
    }
}

/// One of a parameter store's three buffers.
public enum ParameterBuffer: Int, CaseIterable, Sendable {
    case values, gradients, moments
}

/// Where a parameter store lives. The object owns the memory it hands out and frees it when
/// it goes. A GPU backend hands out a host copy and keeps the kernels' copy in device memory,
/// kept coherent through `hostAccess`.
public protocol ParameterMemory: AnyObject {
    /// The zeroed buffers of `count` parameters, valid while this object lives.
    func allocate(count: Int, moments: MomentPrecision) -> ParameterBuffers
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

    public func allocate(count: Int, moments: MomentPrecision) -> ParameterBuffers {
        func zeroed(_ count: Int) -> UnsafeMutablePointer<Float> {
            let raw = UnsafeMutableRawPointer.allocate(byteCount: count * 4, alignment: 64)
            blocks.append(raw)
            return raw.initializeMemory(as: Float.self, repeating: 0, count: count)
        }
        let buffers = ParameterBuffers(values: zeroed(count), gradients: zeroed(count), moments: zeroed(moments.words(count)))
        gradients = UnsafeMutableBufferPointer(start: buffers.gradients, count: count)
        return buffers
    }

    /// The host's memory is the only copy.
    public func hostAccess(_ buffer: ParameterBuffer) {}

    public func zeroGradients() {
        gradients?.update(repeating: 0)
    }
}
