import HybridCore
import HybridCPU
import HybridNN
import HybridTestSupport
import Testing

/// A regression head — linear → weighted MSE against a target — built with `Graph.mse`,
/// differentiated, laid out and run by the CPU backend, checked against finite differences.
/// The target is either a float input or itself computed from parameters (so the gradient
/// flows through both sides of the loss).
@Suite struct MSEGraphTests {
    struct Model {
        let graph: Graph
        let executable: Executable
        let loss: TensorID
    }

    static let B = 2, T = 3, K = 4, F = 5

    static func build(learnedTarget: Bool, seed: UInt64) throws -> Model {
        let store = ParameterStore()
        let g = Graph(parameters: store)
        let x = g.input("x", shape: [B, T, K], dtype: .float32)
        let weights = g.input("weights", shape: [B, T], dtype: .float32)
        let prediction = try linear(g, x, name: "head", outFeatures: F)
        let target: TensorID
        let given = g.input("target", shape: [B, T, F], dtype: .float32)
        if learnedTarget {
            target = try g.add(given, linear(g, x, name: "teacher", outFeatures: F, bias: false))
        } else {
            target = given
        }
        let loss = try g.mse(prediction: prediction, target: target, weights: weights)
        try g.differentiate(loss: loss)
        store.materialize(seed: seed)
        var rng = SeededRNG(seed: seed)
        // Biases start at zero; random values everywhere give every coordinate a gradient.
        for (i, v) in rng.normal(count: store.count, std: 0.5).enumerated() { store.values![i] = v }
        let exe = try CPUBackend().compile(g)
        let n = B * T
        for (i, v) in rng.normal(count: n * K).enumerated() { exe.floatInput(x)[i] = v }
        for (i, v) in rng.normal(count: n * F).enumerated() { exe.floatInput(given)[i] = v }
        for i in 0..<n { exe.floatInput(weights)[i] = i % 3 == 0 ? 0 : 0.5 + Float(i % 2) }
        return Model(graph: g, executable: exe, loss: loss)
    }

    @Test(arguments: [false, true])
    func everyParameterMatchesFiniteDifferences(learnedTarget: Bool) throws {
        let m = try Self.build(learnedTarget: learnedTarget, seed: 11)
        let store = m.graph.parameters
        let (check, analytic) = checkParameterGradients(m.executable, loss: m.loss, step: 1e-2)
        #expect(check.normalizedError < 5e-3, "learned target \(learnedTarget): \(check)")
        for p in store.parameters {
            let norm = (0..<p.count).reduce(0.0) { $0 + Double(abs(analytic[p.offset + $1])) }
            #expect(norm > 0, "\(p.name) got no gradient")
        }
    }

    @Test func shapeMismatchesAreRefusedWithBothShapes() throws {
        let g = Graph(parameters: ParameterStore())
        let prediction = g.input("head", shape: [2, 3, 5], dtype: .float32)
        let wrongTarget = g.input("labels", shape: [6, 5], dtype: .float32)
        let target = g.input("labels", shape: [2, 3, 5], dtype: .float32)
        let wrongWeights = g.input("mask", shape: [5], dtype: .float32)
        let weights = g.input("mask", shape: [2, 3], dtype: .float32)
        let e1 = #expect(throws: GraphError.self) { try g.mse(prediction: prediction, target: wrongTarget, weights: weights) }
        #expect(e1?.message == "mse: target labels [6, 5] must have the shape of prediction head [2, 3, 5]")
        let e2 = #expect(throws: GraphError.self) { try g.mse(prediction: prediction, target: target, weights: wrongWeights) }
        #expect(e2?.message == "mse: weights mask [5] must have one entry per row of prediction head [2, 3, 5]")
        let learned = try g.parameter("w", shape: [6], initializer: .ones, decay: false)
        let e3 = #expect(throws: GraphError.self) { try g.mse(prediction: prediction, target: target, weights: learned) }
        #expect(e3?.message.contains("weights w [6] depend on a parameter") == true)
    }
}
