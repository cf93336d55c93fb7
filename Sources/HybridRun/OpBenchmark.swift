import Foundation
import HybridCore
import HybridRecipe

/// Every op alone, forward and backward, at one model's shapes, on a backend — ggml's
/// test-backend-ops perf mode: each op loops for at least `seconds` and reports µs per run,
/// beside its work (FLOPs for products, bytes for the rest), on each backend asked for.
public struct OpBenchmark {
    public let batch: Int, seqLen: Int, dModel: Int, heads: Int, vocab: Int
    public let seconds: Double
    /// The backends side by side, by the names of their devices (cpu, vulkan).
    public let devices: [Recipe.Device]
    private let backends: [Backend]

    /// `log` gets the device lines.
    public init(devices: [Recipe.Device], batch: Int, seqLen: Int, dModel: Int, heads: Int, vocab: Int, seconds: Double,
                log: (String) -> Void) throws {
        (self.batch, self.seqLen, self.dModel, self.heads, self.vocab, self.seconds) = (batch, seqLen, dModel, heads, vocab, seconds)
        self.devices = devices
        backends = try devices.map { try BackendChoice.make($0, log: log) }
    }

    /// One op to time: its graph (the loss reads the op's output through an MSE against a
    /// random target, unless the op is itself the loss) and its work per run.
    public struct Case {
        public var name: String
        var op: String
        /// Forward and backward work: FLOPs (`flops` true) or bytes.
        public var forward: Double
        public var backward: Double
        public var flops: Bool
        var build: (Graph) throws -> TensorID
    }

    public var cases: [Case] {
        let B = batch, T = seqLen, C = dModel, N = B * T, V = vocab, D = dModel / heads, heads = heads
        func p(_ g: Graph, _ name: String, _ shape: [Int]) throws -> TensorID {
            try g.parameter(name, shape: shape, initializer: .normal(std: 0.5), decay: true)
        }
        func loss(_ g: Graph, _ out: TensorID) throws -> TensorID {
            let s = g[out].shape
            return try g.mse(prediction: out, target: g.input("target", shape: s, dtype: .float32),
                             weights: g.input("weights", shape: [g[out].rows], dtype: .float32))
        }
        let n = Double(N * C), f = 4.0
        let pairs = Double(B * heads * T * (T + 1) / 2)
        return [
            Case(name: "embedding [\(N)] from [\(V),\(C)]", op: "embedding", forward: 2 * n * f, backward: 3 * n * f, flops: false) { g in
                try loss(g, g.embedding(ids: g.input("ids", shape: [N], dtype: .int32), table: p(g, "table", [V, C])))
            },
            Case(name: "linear [\(N),\(C)]→\(3 * C)", op: "linear", forward: 2 * n * Double(3 * C), backward: 4 * n * Double(3 * C), flops: true) { g in
                try loss(g, g.linear(p(g, "x", [N, C]), weight: p(g, "w", [3 * C, C]), bias: p(g, "b", [3 * C])))
            },
            Case(name: "linear [\(N),\(4 * C)]→\(C)", op: "linear", forward: 2 * n * Double(4 * C), backward: 4 * n * Double(4 * C), flops: true) { g in
                try loss(g, g.linear(p(g, "x", [N, 4 * C]), weight: p(g, "w", [C, 4 * C]), bias: p(g, "b", [C])))
            },
            Case(name: "attention causal B\(B) T\(T) C\(C) H\(heads)", op: "attention", forward: 4 * pairs * Double(D),
                 backward: 8 * pairs * Double(D), flops: true) { g in
                try loss(g, g.attention(p(g, "qkv", [B, T, 3 * C]), heads: heads, mask: .causal))
            },
            Case(name: "layer_norm [\(N),\(C)]", op: "layer_norm", forward: 2 * n * f, backward: 4 * n * f, flops: false) { g in
                try loss(g, g.layerNorm(p(g, "x", [N, C]), weight: p(g, "w", [C]), bias: p(g, "b", [C])))
            },
            Case(name: "gelu [\(N),\(4 * C)]", op: "gelu", forward: 8 * n * f, backward: 16 * n * f, flops: false) { g in
                try loss(g, g.gelu(p(g, "x", [N, 4 * C])))
            },
            Case(name: "add [\(N),\(C)]", op: "add", forward: 3 * n * f, backward: 6 * n * f, flops: false) { g in
                try loss(g, g.add(p(g, "a", [N, C]), p(g, "b", [N, C])))
            },
            Case(name: "add_broadcast [\(B),\(T * C)]+[\(T * C)]", op: "add_broadcast", forward: 3 * n * f, backward: 4 * n * f, flops: false) { g in
                try loss(g, g.add(p(g, "x", [B, T, C]), p(g, "y", [T, C])))
            },
            Case(name: "mul [\(N),\(C)]", op: "mul", forward: 3 * n * f, backward: 8 * n * f, flops: false) { g in
                try loss(g, g.mul(p(g, "a", [N, C]), p(g, "b", [N, C])))
            },
            Case(name: "scale [\(N),\(C)]", op: "scale", forward: 2 * n * f, backward: 3 * n * f, flops: false) { g in
                try loss(g, g.scale(p(g, "x", [N, C]), by: 0.5))
            },
            Case(name: "cross_entropy [\(N),\(V)]", op: "cross_entropy", forward: 3 * Double(N * V) * f, backward: 3 * Double(N * V) * f, flops: false) { g in
                try g.crossEntropy(logits: p(g, "z", [N, V]), targets: g.input("targets", shape: [N], dtype: .int32),
                                   weights: g.input("weights", shape: [N], dtype: .float32))
            },
            Case(name: "mse [\(N),\(C)]", op: "mse", forward: 2 * n * f, backward: 4 * n * f, flops: false) { g in
                try g.mse(prediction: p(g, "x", [N, C]), target: g.input("target", shape: [N, C], dtype: .float32),
                          weights: g.input("weights", shape: [N], dtype: .float32))
            },
            Case(name: "mean [\(N),\(C)]", op: "mean", forward: n * f, backward: 2 * n * f, flops: false) { g in
                try g.mean(p(g, "x", [N, C]))
            },
        ]
    }

    /// µs per forward and per backward run of `c`'s op on each backend.
    public func time(_ c: Case) throws -> [(forward: Double, backward: Double)] {
        try backends.map { try time(c, on: $0) }
    }

    private func time(_ c: Case, on backend: Backend) throws -> (forward: Double, backward: Double) {
        let store = ParameterStore()
        let graph = Graph(parameters: store)
        try graph.differentiate(loss: c.build(graph))
        store.materialize(seed: 1, memory: backend.parameterMemory())
        let exe = try backend.compile(graph)
        for (id, t) in graph.tensors.enumerated() where t.storage == .input {
            if t.dtype == .int32 {
                let ids = exe.int32Input(id)
                for i in ids.indices { ids[i] = Int32(i * 7919 % vocab) }
            } else {
                let values = exe.floatInput(id)
                for i in values.indices { values[i] = t.name == "weights" ? 1 : Float(i % 17) / 17 - 0.5 }
            }
        }
        let profile = loop(exe, backward: true)
        return (profile.perRun(c.op), profile.perRun(c.op + " backward"))
    }

    /// µs per forward run of one plain product C[M,N] = A[M,K]·B[K,N], as a linear layer
    /// without bias (x[M,K], w[N,K]: out = x·wᵀ): 2·M·N·K FLOPs per run; on each backend.
    public func timeProduct(M: Int, N: Int, K: Int) throws -> [Double] {
        try backends.map { try timeProduct(M: M, N: N, K: K, on: $0) }
    }

    private func timeProduct(M: Int, N: Int, K: Int, on backend: Backend) throws -> Double {
        let store = ParameterStore()
        let graph = Graph(parameters: store)
        let x = try graph.parameter("x", shape: [M, K], initializer: .normal(std: 0.5), decay: false)
        let w = try graph.parameter("w", shape: [N, K], initializer: .normal(std: 0.5), decay: false)
        try graph.markOutput(graph.linear(x, weight: w, bias: nil))
        store.materialize(seed: 1, memory: backend.parameterMemory())
        return loop(try backend.compile(graph), backward: false).perRun("linear")
    }

    /// Runs `exe` once untimed, then for at least `seconds` (and 3 runs).
    private func loop(_ exe: Executable, backward: Bool) -> Timing {
        let profile = OpProfile()
        exe.profile = profile
        func once() {
            exe.forward()
            if backward { exe.backward(seed: 1) }
        }
        once()
        profile.reset()
        let start = ContinuousClock.now
        var runs = 0
        while (ContinuousClock.now - start).inSeconds < seconds || runs < 3 {
            once()
            runs += 1
        }
        return Timing(profile: profile, runs: runs)
    }

    private struct Timing {
        let profile: OpProfile
        let runs: Int

        /// µs per run in the op `key` (NaN where it never ran).
        func perRun(_ key: String) -> Double {
            guard let e = profile.entries[key] else { return .nan }
            return e.seconds / Double(runs) * 1e6
        }
    }
}
