import Foundation
import HybridRun

/// `hybrid bench ops --product M,N,K`: one plain product C[M,N] = A[M,K]·B[K,N], as a linear
/// layer without bias (x[M,K], w[N,K]: out = x·wᵀ), forward only, on each backend asked for:
/// 2·M·N·K FLOPs per run, reported in TFLOP/s.
extension OpsBench {
    /// M, N, K from `--product`, nil when absent or malformed.
    var productShape: (M: Int, N: Int, K: Int)? {
        guard let product else { return nil }
        let sizes = product.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard sizes.count == 3, sizes.allSatisfy({ $0 > 0 }) else { return nil }
        return (sizes[0], sizes[1], sizes[2])
    }

    func timeProduct(_ shape: (M: Int, N: Int, K: Int), _ bench: OpBenchmark) throws {
        let (M, N, K) = shape
        let name = "product [\(M),\(K)]·[\(K),\(N)]"
        let flops = 2 * Double(M) * Double(N) * Double(K)
        say("\(name) forward (linear x[\(M),\(K)]·w[\(N),\(K)]ᵀ, no bias), looped ≥ \(seconds) s; rate = TFLOP/s")
        var line = name.padding(toLength: 34, withPad: " ", startingAt: 0) + "fwd     "
        var record: [String: Any] = ["op": name, "pass": "fwd"]
        for (device, us) in zip(bench.devices, try bench.timeProduct(M: M, N: N, K: K)) {
            let backendName = device.rawValue
            let rate = flops / (us * 1e-6) / 1e12
            line += backendName.padding(toLength: 8, withPad: " ", startingAt: 0) + String(format: "%12.1f µs %9.3f TFLOP/s   ", us, rate)
            record[backendName + "_us"] = (us * 10).rounded() / 10
            record[backendName + "_tflops"] = (rate * 1000).rounded() / 1000
        }
        say(line)
        let json = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])
        say("RESULT " + String(decoding: json, as: UTF8.self))
    }
}
