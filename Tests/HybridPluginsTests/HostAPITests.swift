import CHybridPlugin
import HybridCore
import HybridNN
import HybridPlugins
import Testing

/// The host API table a plugin builds its graph through.
@Suite struct HostAPITests {
    /// ABI 1.6: `cross_entropy_per_row` is the cross-entropy normalised by its rows, and
    /// `cross_entropy` the one normalised by its weights; both check their shapes alike.
    @Test func crossEntropyPerRowIsTheLossNormalisedByItsRows() throws {
        let g = Graph(parameters: ParameterStore())
        let config = BackboneConfig(dModel: 8, layers: 1, heads: 2, maxLength: 4, vocabulary: Int(HYBRID_VOCAB))
        let context = GraphBuildContext(graph: g, backbone: Backbone(config: config), log: { _ in })
        let logits = hybrid_tensor(g.input("logits", shape: [6, 5], dtype: .float32))
        let targets = hybrid_tensor(g.input("targets", shape: [6], dtype: .int32))
        let weights = hybrid_tensor(g.input("weights", shape: [6], dtype: .float32))
        let api = HostAPI.table.pointee
        let perRowFunction = try #require(api.cross_entropy_per_row), perWeightFunction = try #require(api.cross_entropy)
        let perRow = TensorID(perRowFunction(context.handle, logits, targets, weights))
        let perWeight = TensorID(perWeightFunction(context.handle, logits, targets, weights))
        let rowsOp: Op? = g.nodes.first { $0.output == perRow }?.op
        let weightsOp: Op? = g.nodes.first { $0.output == perWeight }?.op
        #expect(rowsOp == .crossEntropy(.rows))
        #expect(weightsOp == .crossEntropy(.weights))
        let short = hybrid_tensor(g.input("short", shape: [5], dtype: .float32))
        let refused: hybrid_tensor = perRowFunction(context.handle, logits, targets, short)
        #expect(refused == HYBRID_NO_TENSOR)
    }
}
