import HybridCore
import HybridNN
import Testing

/// The backbone's parameters start as GPT-2 / the PyTorch reference start them.
@Suite struct InitTests {
    @Test func followsTheGPT2Scheme() throws {
        let config = BackboneConfig(dModel: 64, layers: 3, heads: 4, maxLength: 32, vocabulary: 260)
        let store = ParameterStore()
        let g = Graph(parameters: store)
        let tokens = g.input("tokens", shape: [2, 32], dtype: .int32)
        let backbone = Backbone(config: config)
        _ = try linear(g, backbone(g, backbone.tokenEmbedding(g, tokens), mask: .causal), name: "head", outFeatures: 256, bias: false)
        store.materialize(seed: 11)
        func stats(_ name: String) throws -> (mean: Double, std: Double) {
            let p = try #require(store.parameter(named: name))
            let v = (0..<p.count).map { Double(store.values![p.offset + $0]) }
            let mean = v.reduce(0, +) / Double(v.count)
            return (mean, (v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(v.count)).squareRoot())
        }
        for name in ["tok_emb.weight", "pos_emb.weight", "head.weight", "blocks.0.qkv.weight", "blocks.2.fc1.weight"] {
            let s = try stats(name)
            #expect(abs(s.std - 0.02) < 0.001 && abs(s.mean) < 0.001, "\(name): \(s)")
        }
        for name in ["blocks.0.proj.weight", "blocks.1.fc2.weight"] {
            let s = try stats(name)
            #expect(abs(s.std - 0.02 / 6.0.squareRoot()) < 0.0005, "\(name): \(s)")
        }
        #expect(try stats("blocks.0.ln1.weight") == (1, 0))
        #expect(try stats("blocks.0.qkv.bias") == (0, 0))
        // Each parameter has its own stream: two matrices never share values.
        #expect(store.values![store.parameter(named: "blocks.0.qkv.weight")!.offset] != store.values![store.parameter(named: "blocks.1.qkv.weight")!.offset])
    }
}
