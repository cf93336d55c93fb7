import CHybridPlugin
import HybridCore
import HybridNN

/// What a `hybrid_graph *` handed to a plugin points at: the graph being built, the shared
/// backbone, and the first error an op hit (ops return HYBRID_NO_TENSOR and keep going, so a
/// plugin's build reads like straight-line code and reports once, via graph_status).
public final class GraphBuildContext {
    public let graph: Graph
    public let backbone: Backbone
    public private(set) var firstError: String?
    /// Where api->log lines go.
    let log: (String) -> Void

    public init(graph: Graph, backbone: Backbone, log: @escaping (String) -> Void) {
        self.graph = graph
        self.backbone = backbone
        self.log = log
    }

    /// The handle plugins see. Valid while this context is alive.
    public var handle: OpaquePointer { OpaquePointer(Unmanaged.passUnretained(self).toOpaque()) }

    static func from(_ handle: OpaquePointer?) -> GraphBuildContext {
        Unmanaged<GraphBuildContext>.fromOpaque(UnsafeRawPointer(handle!)).takeUnretainedValue()
    }

    /// Runs one op, turning a thrown error into HYBRID_NO_TENSOR plus a recorded message.
    func op(_ name: String, _ body: () throws -> TensorID) -> hybrid_tensor {
        if firstError != nil { return HYBRID_NO_TENSOR }
        do {
            return hybrid_tensor(try body())
        } catch {
            firstError = "\(name): \(error)"
            return HYBRID_NO_TENSOR
        }
    }

    /// A handle from the plugin, checked.
    func tensor(_ t: hybrid_tensor) throws -> TensorID {
        guard t >= 0, Int(t) < graph.tensors.count else {
            throw GraphError("tensor handle \(t) is not a tensor of this graph (an earlier op may have failed)")
        }
        return TensorID(t)
    }
}

/// What a `hybrid_sampler *` points at during a plugin's sample(): the host's forward pass
/// and token picker.
public final class SamplerContext {
    /// Runs the model on `count` tokens; writes the logits of the last one, or of all of
    /// them when `all` is true.
    let forward: (_ tokens: UnsafePointer<Int32>, _ count: Int, _ all: Bool, _ logits: UnsafeMutablePointer<Float>) throws -> Void
    let pick: (UnsafePointer<Float>, Int) -> Int32
    let emit: (Int32) -> Void

    public init(forward: @escaping (UnsafePointer<Int32>, Int, Bool, UnsafeMutablePointer<Float>) throws -> Void,
                pick: @escaping (UnsafePointer<Float>, Int) -> Int32,
                emit: @escaping (Int32) -> Void) {
        self.forward = forward
        self.pick = pick
        self.emit = emit
    }

    public var handle: OpaquePointer { OpaquePointer(Unmanaged.passUnretained(self).toOpaque()) }

    static func from(_ handle: OpaquePointer?) -> SamplerContext {
        Unmanaged<SamplerContext>.fromOpaque(UnsafeRawPointer(handle!)).takeUnretainedValue()
    }
}
