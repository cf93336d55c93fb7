import ArgumentParser
import Foundation
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

    func run() throws {
        try reportingFailures {
            let devices = try device.split(separator: ",").map { name in
                let name = name.trimmingCharacters(in: .whitespaces)
                guard let d = Recipe.Device(rawValue: name), d != .auto else {
                    throw ValidationError("--device takes cpu and vulkan, comma-separated; got \(name)")
                }
                return d
            }
            let bench = try OpBenchmark(devices: devices, batch: batch, seqLen: seqLen, dModel: dModel, heads: heads, vocab: vocab,
                                        seconds: seconds, log: { say($0) })
            let names = devices.map(\.rawValue)
            if let productShape { return try timeProduct(productShape, bench) }
            say("ops at B=\(batch) T=\(seqLen) d=\(dModel) H=\(heads) V=\(vocab), each looped ≥ \(seconds) s; "
                + "rate = GFLOP/s for products, GB/s for the rest")
            var header = "op".padding(toLength: 34, withPad: " ", startingAt: 0) + "pass    "
            for name in names { header += name.padding(toLength: 9, withPad: " ", startingAt: 0) + " µs   rate   " }
            if names.count == 2 { header += "\(names[1])/\(names[0])" }
            say(header)
            for c in bench.cases {
                let times = try bench.time(c)
                for (pass, work) in [("fwd", c.forward), ("bwd", c.backward)] {
                    var line = c.name.padding(toLength: 34, withPad: " ", startingAt: 0) + pass + "     "
                    var record: [String: Any] = ["op": c.name, "pass": pass]
                    for (name, t) in zip(names, times) {
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
