import CHybridPlugin
import HybridCore
import HybridNN

/// The host API table handed to every plugin: C function pointers over `GraphBuildContext`,
/// `SamplerContext` and `RandomStream`. One static table serves all plugins.
public enum HostAPI {
    /// Written once, then only read.
    public nonisolated(unsafe) static let table: UnsafePointer<hybrid_host_api> = {
        let p = UnsafeMutablePointer<hybrid_host_api>.allocate(capacity: 1)
        p.initialize(to: make())
        return UnsafePointer(p)
    }()

    public static var hostInfo: hybrid_host_info {
        hybrid_host_info(header: header(hybrid_host_info.self), host_version: nil)
    }

    static func header<T>(_ type: T.Type) -> hybrid_struct_header {
        hybrid_struct_header(size: UInt32(MemoryLayout<T>.size), abi_major: UInt16(HYBRID_ABI_MAJOR), abi_minor: UInt16(HYBRID_ABI_MINOR))
    }

    private static func make() -> hybrid_host_api {
        var api = hybrid_host_api()
        api.header = header(hybrid_host_api.self)
        api.rank = { g, t in
            let c = GraphBuildContext.from(g)
            guard let id = try? c.tensor(t) else { return -1 }
            return Int32(c.graph[id].shape.count)
        }
        api.dim = { g, t, axis in
            let c = GraphBuildContext.from(g)
            guard let id = try? c.tensor(t) else { return -1 }
            let shape = c.graph[id].shape
            guard axis >= 0, Int(axis) < shape.count else { return -1 }
            return Int64(shape[Int(axis)])
        }
        api.parameter = { g, name, rank, shape, initKind, scale, decay in
            let c = GraphBuildContext.from(g)
            return c.op("parameter") {
                guard let name, rank > 0, let shape else { throw GraphError("a parameter needs a name and a shape") }
                let dims = (0..<Int(rank)).map { Int(shape[$0]) }
                let initializer: ParameterInit
                switch initKind {
                case HYBRID_INIT_ZEROS: initializer = .zeros
                case HYBRID_INIT_ONES: initializer = .ones
                case HYBRID_INIT_NORMAL: initializer = .normal(std: scale)
                default: throw GraphError("unknown init kind \(initKind.rawValue) for parameter \(String(cString: name))")
                }
                return try c.graph.parameter(String(cString: name), shape: dims, initializer: initializer, decay: decay != 0)
            }
        }
        api.token_embedding = { g, tokens in
            let c = GraphBuildContext.from(g)
            return c.op("token_embedding") { try c.backbone.tokenEmbedding(c.graph, c.tensor(tokens)) }
        }
        api.backbone = { g, x, mask, prefix in
            let c = GraphBuildContext.from(g)
            return c.op("backbone") { try c.backbone(c.graph, c.tensor(x), mask: attentionMask(mask, prefix), cache: c.decodeCache) }
        }
        api.backbone_image = { g, x, mask, prefix, imageStart in
            let c = GraphBuildContext.from(g)
            return c.op("backbone_image") {
                let x = try c.tensor(x)
                let T = c.graph[x].shape.count == 3 ? c.graph[x].shape[1] : 0
                guard (0...T).contains(Int(imageStart)) else {
                    throw GraphError("image_start \(imageStart) is outside the \(T) positions of \(c.graph[x].name)")
                }
                return try c.backbone(c.graph, x, mask: attentionMask(mask, prefix), imageFrom: Int(imageStart), cache: c.decodeCache)
            }
        }
        api.linear = { g, x, name, out, bias in
            let c = GraphBuildContext.from(g)
            return c.op("linear") {
                guard let name, out > 0 else { throw GraphError("linear needs a name and out_features > 0") }
                return try linear(c.graph, c.tensor(x), name: String(cString: name), outFeatures: Int(out), bias: bias != 0)
            }
        }
        api.layer_norm = { g, x, name in
            let c = GraphBuildContext.from(g)
            return c.op("layer_norm") {
                guard let name else { throw GraphError("layer_norm needs a name") }
                return try layerNorm(c.graph, c.tensor(x), name: String(cString: name))
            }
        }
        api.add = { g, a, b in
            let c = GraphBuildContext.from(g)
            return c.op("add") { try c.graph.add(c.tensor(a), c.tensor(b)) }
        }
        api.mul = { g, a, b in
            let c = GraphBuildContext.from(g)
            return c.op("mul") { try c.graph.mul(c.tensor(a), c.tensor(b)) }
        }
        api.scale = { g, x, s in
            let c = GraphBuildContext.from(g)
            return c.op("scale") { try c.graph.scale(c.tensor(x), by: s) }
        }
        api.gelu = { g, x in
            let c = GraphBuildContext.from(g)
            return c.op("gelu") { try c.graph.gelu(c.tensor(x)) }
        }
        api.cross_entropy = { g, logits, targets, weights in
            let c = GraphBuildContext.from(g)
            return c.op("cross_entropy") {
                try c.graph.crossEntropy(logits: c.tensor(logits), targets: c.tensor(targets), weights: c.tensor(weights))
            }
        }
        api.cross_entropy_per_row = { g, logits, targets, weights in
            let c = GraphBuildContext.from(g)
            return c.op("cross_entropy_per_row") {
                try c.graph.crossEntropy(logits: c.tensor(logits), targets: c.tensor(targets), weights: c.tensor(weights), normalizer: .rows)
            }
        }
        api.mse = { g, prediction, target, weights in
            let c = GraphBuildContext.from(g)
            return c.op("mse") {
                try c.graph.mse(prediction: c.tensor(prediction), target: c.tensor(target), weights: c.tensor(weights))
            }
        }
        api.mean = { g, x in
            let c = GraphBuildContext.from(g)
            return c.op("mean") { try c.graph.mean(c.tensor(x)) }
        }
        api.graph_status = { g, err in
            let c = GraphBuildContext.from(g)
            guard let message = c.firstError else { return HYBRID_OK }
            HostAPI.writeError(message, into: err)
            return HYBRID_FAILED
        }
        api.rng_next = { rng in
            UnsafeMutablePointer<RandomStream>(rng!).pointee.next()
        }
        api.rng_uniform = { rng in
            UnsafeMutablePointer<RandomStream>(rng!).pointee.uniform()
        }
        api.sampler_forward = { s, tokens, count, logits, err in
            HostAPI.forward(s, tokens, count, all: false, logits, err)
        }
        api.sampler_forward_all = { s, tokens, count, logits, err in
            HostAPI.forward(s, tokens, count, all: true, logits, err)
        }
        api.sampler_pick = { s, logits, count in
            guard let pick = SamplerContext.from(s).pick, let logits else { return 0 }
            return pick(logits, Int(count))
        }
        api.sampler_emit = { s, token in
            SamplerContext.from(s).emit?(token)
        }
        api.input = { g, name, rank, shape in
            let c = GraphBuildContext.from(g)
            return c.op("input") {
                guard let name, rank > 0, let shape else { throw GraphError("an input needs a name and a shape") }
                return try c.input(String(cString: name), shape: (0..<Int(rank)).map { Int(shape[$0]) })
            }
        }
        api.input_int32 = { g, name, rank, shape in
            let c = GraphBuildContext.from(g)
            return c.op("input_int32") {
                guard let name, rank > 0, let shape else { throw GraphError("an input needs a name and a shape") }
                return try c.input(String(cString: name), shape: (0..<Int(rank)).map { Int(shape[$0]) }, dtype: .int32)
            }
        }
        api.sampler_run = { s, names, values, count, output, err in
            do {
                guard let run = SamplerContext.from(s).run else { throw GraphError("sampler_run is for image samplers") }
                guard let names, let values, let output, count >= 0 else { throw GraphError("sampler_run needs names, values and an output buffer") }
                var inputs: [String: UnsafePointer<Float>] = [:]
                for i in 0..<Int(count) {
                    guard let name = names[i], let value = values[i] else { throw GraphError("sampler_run: input \(i) has no name or no values") }
                    inputs[String(cString: name)] = value
                }
                try run(inputs, output)
                return HYBRID_OK
            } catch {
                HostAPI.writeError("\(error)", into: err)
                return HYBRID_FAILED
            }
        }
        api.sampler_emit_image = { s, pixels in
            guard let pixels else { return }
            SamplerContext.from(s).emitImage?(pixels)
        }
        api.log = { g, message in
            guard let message else { return }
            GraphBuildContext.from(g).log(String(cString: message))
        }
        return api
    }

    private static func forward(_ s: OpaquePointer?, _ tokens: UnsafePointer<Int32>?, _ count: Int32, all: Bool,
                                _ logits: UnsafeMutablePointer<Float>?, _ err: UnsafeMutablePointer<hybrid_error>?) -> hybrid_status {
        do {
            guard let tokens, let logits, count > 0 else { throw GraphError("sampler_forward needs at least one token and a logits buffer") }
            guard let forward = SamplerContext.from(s).forward else { throw GraphError("sampler_forward is for text samplers") }
            try forward(tokens, Int(count), all, logits)
            return HYBRID_OK
        } catch {
            writeError("\(error)", into: err)
            return HYBRID_FAILED
        }
    }

    /// Copies `message` into a host-owned error buffer, truncated and NUL-terminated.
    static func writeError(_ message: String, into err: UnsafeMutablePointer<hybrid_error>?) {
        guard let err, let buffer = err.pointee.message, err.pointee.capacity > 0 else { return }
        let bytes = Array(message.utf8.prefix(err.pointee.capacity - 1))
        bytes.withUnsafeBufferPointer { src in
            buffer.withMemoryRebound(to: UInt8.self, capacity: bytes.count + 1) { dst in
                dst.update(from: src.baseAddress!, count: bytes.count)
                dst[bytes.count] = 0
            }
        }
    }
}

/// The backbone's mask from the plugin's kind and prefix.
private func attentionMask(_ mask: hybrid_mask_kind, _ prefix: Int32) throws -> AttentionMask {
    switch mask {
    case HYBRID_MASK_CAUSAL: return .causal
    case HYBRID_MASK_BIDIRECTIONAL: return .bidirectional
    case HYBRID_MASK_PREFIX: return .prefix(length: Int(prefix))
    case HYBRID_MASK_TAIL_BLOCK: return .tailBlock(start: Int(prefix))
    default: throw GraphError("unknown mask kind \(mask.rawValue)")
    }
}
