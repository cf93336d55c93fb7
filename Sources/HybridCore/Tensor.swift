/// Tensors of a graph: shapes and where each one's storage lives.
///
/// A graph never owns memory. Parameters live in the shared `ParameterStore`, inputs in
/// buffers the executable allocates once, and activations and their gradients in one arena
/// laid out by `MemoryPlan`.

/// An index into `Graph.tensors`.
public typealias TensorID = Int

public enum DType: Sendable, Equatable {
    case float32
    case int32
}

public enum Storage: Sendable, Equatable {
    /// `offset` elements into the parameter store's flat buffers (values, gradients, moments).
    case parameter(offset: Int)
    /// Its gradient: the same offset in the store's flat gradient buffer.
    case parameterGradient(offset: Int)
    /// Fed by the host before each run (token ids, targets, loss weights).
    case input
    /// Kept by the executable from run to run and written by ops (a key/value cache).
    case state
    /// Written by a forward node; placed in the arena.
    case activation
    /// The gradient of an activation; placed in the arena.
    case activationGradient
}

public struct TensorInfo: Sendable {
    public var name: String
    public var shape: [Int]
    public var dtype: DType
    public var storage: Storage
    /// True when a parameter is upstream, so backward must reach it.
    public var requiresGrad: Bool
    /// Set by `Graph.differentiate`.
    public var gradient: TensorID?

    public var count: Int { shape.reduce(1, *) }
    /// The last dimension; tensors are row-major, so [B, T, C] reads as rows of C.
    public var columns: Int { shape.last ?? 1 }
    public var rows: Int { count / max(columns, 1) }
}
