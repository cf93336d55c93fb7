import ArgumentParser
import Foundation
import HybridCore
import HybridRecipe
import HybridRun

/// `hybrid bench ops`: every op alone, forward and backward, at one model's shapes, on each
/// backend asked for, side by side — ggml's test-backend-ops perf mode: each op loops for at
/// least `--seconds` and reports µs per run and GFLOP/s (products) or GB/s (the rest).
struct OpsBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ops",
        abstract: "Time each op, forward and backward, on the CPU and Vulkan backends side by side.")

    @Option(help: "Backends to compare, comma-separated: cpu, vulkan.")
    var device = "cpu,vulkan"

    @Option(parsing: .unconditional, help: "Batch.") var batch = 16
    @Option(parsing: .unconditional, help: "Sequence length.") var seqLen = 128
    @Option(parsing: .unconditional, help: "Model width.") var dModel = 128
    @Option(parsing: .unconditional, help: "Attention heads.") var heads = 4
    @Option(parsing: .unconditional, help: "Vocabulary (cross-entropy columns).") var vocab = 260
    @Option(parsing: .unconditional, help: "Seconds each op runs at least.") var seconds = 1.0
    @Option(help: ArgumentHelp("Time only one plain product C[M,N] = A[M,K]·B[K,N] forward (a linear layer without bias, x[M,K], w[N,K]), in TFLOP/s.",
                               valueName: "M,N,K"))
    var product: String?

    func validate() throws {
        guard batch > 0, seqLen > 0, dModel > 0, heads > 0, dModel % heads == 0, vocab > 1 else {
            throw ValidationError("shapes must be positive, with --d-model a multiple of --heads")
        }
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
        if product != nil, productShape == nil { throw ValidationError("--product takes three positive sizes M,N,K; got \(product!)") }
    }

    /// One op to time: its graph (the loss reads the op's output through an MSE against a
    /// random target, unless the op is itself the loss) and its work per run.
    struct Case {
        var name: String
        var op: String
        /// Forward and backward work: FLOPs (`flops` true) or bytes.
        var forward: Double
        var backward: Double
        var flops: Bool
        var build: (Graph) throws -> TensorID
    }

    func cases() -> [Case] {
        let B = batch, T = seqLen, C = dModel, N = B * T, V = vocab, D = dModel / heads
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

    /// µs per forward and per backward run of `c`'s op on `backend`.
    func time(_ c: Case, on backend: Backend) throws -> (forward: Double, backward: Double) {
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
        let profile = OpProfile()
        exe.profile = profile
        exe.forward()
        exe.backward(seed: 1)
        profile.reset()
        let start = ContinuousClock.now
        var runs = 0
        while (ContinuousClock.now - start).inSeconds < seconds || runs < 3 {
            exe.forward()
            exe.backward(seed: 1)
            runs += 1
        }
        func perRun(_ key: String) -> Double {
            guard let e = profile.entries[key] else { return .nan }
            return e.seconds / Double(runs) * 1e6
        }
        return (perRun(c.op), perRun(c.op + " backward"))
    }

    func run() throws {
        try reportingFailures {
            let names = device.split(separator: ",").map { String($0.trimmingCharacters(in: .whitespaces)) }
            let backends: [(String, Backend)] = try names.map { name in
                guard let d = Recipe.Device(rawValue: name), d != .auto else {
                    throw ValidationError("--device takes cpu and vulkan, comma-separated; got \(name)")
                }
                return (name, try BackendChoice.make(d, log: { say($0) }))
            }
            if let productShape { return try timeProduct(productShape, on: backends) }
            say("ops at B=\(batch) T=\(seqLen) d=\(dModel) H=\(heads) V=\(vocab), each looped ≥ \(seconds) s; "
                + "rate = GFLOP/s for products, GB/s for the rest")
            var header = "op".padding(toLength: 34, withPad: " ", startingAt: 0) + "pass    "
            for (name, _) in backends { header += name.padding(toLength: 9, withPad: " ", startingAt: 0) + " µs   rate   " }
            if backends.count == 2 { header += "\(backends[1].0)/\(backends[0].0)" }
            say(header)
            for c in cases() {
                let times = try backends.map { try time(c, on: $0.1) }
                for (pass, work) in [("fwd", c.forward), ("bwd", c.backward)] {
                    var line = c.name.padding(toLength: 34, withPad: " ", startingAt: 0) + pass + "     "
                    var record: [String: Any] = ["op": c.name, "pass": pass]
                    for ((name, _), t) in zip(backends, times) {
                        let us = pass == "fwd" ? t.forward : t.backward
                        let rate = work / (us * 1e-6) / 1e9
                        line += String(format: "%12.1f %7.2f   ", us, rate)
                        record[name + "_us"] = (us * 10).rounded() / 10
                        record[name + (c.flops ? "_gflops" : "_gbps")] = (rate * 100).rounded() / 100
                    }
                    if times.count == 2 {
                        let a = pass == "fwd" ? times[0].forward : times[0].backward, b = pass == "fwd" ? times[1].forward : times[1].backward
                        line += String(format: "%.2f×", b / a)
                    }
                    say(line)
                    let json = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])
                    say("RESULT " + String(decoding: json, as: UTF8.self))
                }
            }
        }
    }
}
