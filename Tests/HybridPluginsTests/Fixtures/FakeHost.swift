import CHybridPlugin
import Glibc

/// A host API that writes down what a plugin asks of it instead of building a graph, and a
/// sampler whose model always predicts "last token + 1". The graph and sampler handles the
/// plugin receives are this object.
final class FakeHost {
    /// One line per op: "101 = backbone(100, mask 0, prefix 0)". Inputs are tensors < 100.
    private(set) var ops: [String] = []
    /// Every context sampler_forward saw, and every token emitted.
    private(set) var contexts: [[Int32]] = []
    private(set) var emitted: [Int32] = []
    /// What graph_status reports; nil for success.
    var graphError: String?

    private var nextTensor: hybrid_tensor = 100
    /// The table handed to the plugin; lives as long as this object.
    let api: UnsafeMutablePointer<hybrid_host_api>

    init() {
        var api = hybrid_host_api()
        api.header = hybrid_struct_header(size: UInt32(MemoryLayout<hybrid_host_api>.stride),
                                          abi_major: UInt16(HYBRID_ABI_MAJOR),
                                          abi_minor: UInt16(HYBRID_ABI_MINOR))
        api.token_embedding = { g, tokens in
            FakeHost.of(g).op("token_embedding(\(tokens))")
        }
        api.backbone = { g, x, mask, prefix in
            FakeHost.of(g).op("backbone(\(x), mask \(mask.rawValue), prefix \(prefix))")
        }
        api.linear = { g, x, name, features, bias in
            FakeHost.of(g).op("linear(\(x), \(String(cString: name!)), \(features), bias \(bias))")
        }
        api.cross_entropy = { g, logits, targets, weights in
            FakeHost.of(g).op("cross_entropy(\(logits), \(targets), \(weights))")
        }
        api.graph_status = { g, err in
            guard let message = FakeHost.of(g).graphError else { return HYBRID_OK }
            let buffer = err!.pointee.message!, capacity = err!.pointee.capacity
            strncpy(buffer, message, capacity - 1)
            buffer[capacity - 1] = 0
            return HYBRID_FAILED
        }
        api.sampler_forward = { s, tokens, count, logits, err in
            let context = Array(UnsafeBufferPointer(start: tokens, count: Int(count)))
            FakeHost.of(s).contexts.append(context)
            let next = Int((context.last! + 1) % HYBRID_BYTE_VOCAB)
            for i in 0..<Int(HYBRID_BYTE_VOCAB) { logits![i] = i == next ? 1 : 0 }
            return HYBRID_OK
        }
        api.sampler_pick = { s, logits, count in
            let values = UnsafeBufferPointer(start: logits, count: Int(count))
            return Int32(values.indices.max { values[$0] < values[$1] }!)
        }
        api.sampler_emit = { s, token in
            FakeHost.of(s).emitted.append(token)
        }
        self.api = .allocate(capacity: 1)
        self.api.initialize(to: api)
    }

    deinit {
        api.deinitialize(count: 1)
        api.deallocate()
    }

    /// The handle a plugin gets for the graph or the sampler.
    var handle: OpaquePointer { OpaquePointer(Unmanaged.passUnretained(self).toOpaque()) }

    private static func of(_ handle: OpaquePointer?) -> FakeHost {
        Unmanaged<FakeHost>.fromOpaque(UnsafeRawPointer(handle!)).takeUnretainedValue()
    }

    private func op(_ text: String) -> hybrid_tensor {
        defer { nextTensor += 1 }
        ops.append("\(nextTensor) = \(text)")
        return nextTensor
    }
}
