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
    /// Inputs the plugin created with api->input (float) and api->input_int32, by name.
    public private(set) var namedInputs: [String: TensorID] = [:]
    /// Where api->log lines go.
    let log: (String) -> Void
    /// Set for a text sampler's cached generation step: the backbone then builds one token's
    /// step over key/value caches (only a causal backbone can).
    public var decodeCache: Backbone.DecodeCache?

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

    /// api->input and api->input_int32: a named input, unique in the graph.
    func input(_ name: String, shape: [Int], dtype: DType = .float32) throws -> TensorID {
        guard namedInputs[name] == nil else { throw GraphError("input \(name) is created twice") }
        guard !shape.isEmpty, shape.allSatisfy({ $0 > 0 }) else { throw GraphError("input \(name) has an invalid shape \(shape)") }
        let id = graph.input(name, shape: shape, dtype: dtype)
        namedInputs[name] = id
        return id
    }

    /// A handle from the plugin, checked.
    func tensor(_ t: hybrid_tensor) throws -> TensorID {
        guard t >= 0, Int(t) < graph.tensors.count else {
            throw GraphError("tensor handle \(t) is not a tensor of this graph (an earlier op may have failed)")
        }
        return TensorID(t)
    }
}

/// What a `hybrid_sampler *` points at during a plugin's sample(): the host's side of
/// generation. A text sampler sets the first three, an image sampler the last two; a call to
/// one that is not set is an error reported to the plugin.
public final class SamplerContext {
    /// Runs the model on `count` tokens; writes the logits of the last one, or of all of
    /// them when `all` is true.
    public typealias Forward = (_ tokens: UnsafePointer<Int32>, _ count: Int, _ all: Bool, _ logits: UnsafeMutablePointer<Float>) throws -> Void
    /// Runs the model with named float inputs and copies its output.
    public typealias Run = (_ inputs: [String: UnsafePointer<Float>], _ output: UnsafeMutablePointer<Float>) throws -> Void

    let forward: Forward?
    let pick: ((UnsafePointer<Float>, Int) -> Int32)?
    let emit: ((Int32) -> Void)?
    let run: Run?
    let emitImage: ((UnsafePointer<Float>) -> Void)?

    public init(forward: @escaping Forward, pick: @escaping (UnsafePointer<Float>, Int) -> Int32, emit: @escaping (Int32) -> Void) {
        self.forward = forward
        self.pick = pick
        self.emit = emit
        run = nil
        emitImage = nil
    }

    public init(run: @escaping Run, emitImage: @escaping (UnsafePointer<Float>) -> Void) {
        forward = nil
        pick = nil
        emit = nil
        self.run = run
        self.emitImage = emitImage
    }

    public var handle: OpaquePointer { OpaquePointer(Unmanaged.passUnretained(self).toOpaque()) }

    static func from(_ handle: OpaquePointer?) -> SamplerContext {
        Unmanaged<SamplerContext>.fromOpaque(UnsafeRawPointer(handle!)).takeUnretainedValue()
    }
}
