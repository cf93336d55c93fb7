import CHybridPlugin
import HybridCore
import HybridNN
import HybridPlugins

/// An objective's inference graph over a batch of `batchSize`, run with named float inputs:
/// what image sampling and a distillation teacher both drive through `api->sampler_run`.
public final class InferenceGraph {
    let graph: Graph
    let namedInputs: [String: TensorID]
    let output: TensorID
    public let batchSize: Int
    private var executable: Executable?

    /// Builds the objective's inference graph over `parameters`; `compile` once they are
    /// allocated.
    public init(instance: ObjectiveInstance, parameters: ParameterStore, backbone: Backbone, batchSize: Int, seqLen: Int) throws {
        let g = Graph(parameters: parameters)
        let context = GraphBuildContext(graph: g, backbone: backbone, log: { _ in })
        let none = HYBRID_NO_TENSOR
        let built = try instance.build(api: HostAPI.table, graph: context.handle, inputs: ObjectiveBuildInputs(
            mode: .infer, batchSize: batchSize, seqLen: seqLen, dModel: backbone.config.dModel,
            tokens: none, targets: none, lossWeights: none))
        output = TensorID(built.output)
        try g.markOutput(output)
        graph = g
        namedInputs = context.namedInputs
        self.batchSize = batchSize
    }

    public func compile(on backend: Backend) throws {
        executable = try backend.compile(graph)
    }

    /// Fills the named inputs (each as many values as its shape holds), runs the graph and
    /// copies its output into `out`.
    public func run(_ inputs: [String: UnsafePointer<Float>], into out: UnsafeMutablePointer<Float>) throws {
        guard let exe = executable else { preconditionFailure("compile the inference graph before running it") }
        for (name, values) in inputs {
            guard let id = namedInputs[name] else {
                throw TrainError("sampler_run: the inference graph has no input \(name) (it has \(namedInputs.keys.sorted().joined(separator: ", ")))")
            }
            if graph[id].dtype == .int32 {
                // An int32 input's ids arrive through the same float * (bit for bit).
                let buffer = exe.int32Input(id)
                UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: values, byteCount: buffer.count * 4)
            } else {
                let buffer = exe.floatInput(id)
                buffer.baseAddress!.update(from: values, count: buffer.count)
            }
        }
        exe.forward()
        exe.read(output, offset: 0, count: graph[output].count, into: out)
    }
}
