// A small static convenience layer for objective plugins written in Swift: what C plugins get
// from hybrid_plugin.h's macros and inline functions (which Swift does not import), plus
// storage that outlives every call. Linked into each plugin library; it sees only the header.
import CHybridPlugin
import Glibc

/// HYBRID_STRUCT_HEADER(T): the C sizeof (Swift's stride) and the ABI version built against.
public func header<T>(of type: T.Type) -> hybrid_struct_header {
    hybrid_struct_header(size: UInt32(MemoryLayout<T>.stride),
                         abi_major: UInt16(HYBRID_ABI_MAJOR), abi_minor: UInt16(HYBRID_ABI_MINOR))
}

/// hybrid_fail: writes `message` (truncated to fit, NUL-terminated) into the host's buffer.
public func fail(_ err: UnsafeMutablePointer<hybrid_error>?, _ message: String) -> hybrid_status {
    if let err, let buffer = err.pointee.message, err.pointee.capacity > 0 {
        let bytes = message.utf8.prefix(err.pointee.capacity - 1)
        var end = 0
        for byte in bytes {
            buffer[end] = CChar(bitPattern: byte)
            end += 1
        }
        buffer[end] = 0
    }
    return HYBRID_FAILED
}

/// The entry's check of the host: nil when its ABI major is ours, else a failure naming both.
public func refuseHost(_ host: UnsafePointer<hybrid_host_info>, _ err: UnsafeMutablePointer<hybrid_error>?) -> hybrid_status? {
    let found = host.pointee.header
    guard found.abi_major != HYBRID_ABI_MAJOR else { return nil }
    return fail(err, "built for plugin ABI \(HYBRID_ABI_MAJOR).x; the host speaks \(found.abi_major).\(found.abi_minor)")
}

/// A copy of `value` in memory that is never freed.
public func permanent<T>(_ value: T) -> UnsafeMutablePointer<T> {
    let pointer = UnsafeMutablePointer<T>.allocate(capacity: 1)
    pointer.initialize(to: value)
    return pointer
}

/// A copy of `values` in memory that is never freed.
public func permanent<T>(_ values: [T]) -> UnsafePointer<T> {
    let pointer = UnsafeMutablePointer<T>.allocate(capacity: max(values.count, 1))
    pointer.initialize(from: values, count: values.count)
    return UnsafePointer(pointer)
}

/// A NUL-terminated copy of `string` that is never freed.
public func permanent(_ string: String) -> UnsafePointer<CChar> {
    permanent(Array(string.utf8CString))
}

/// Whether a struct the other side wrote, `size` bytes long by its header, reaches `field`:
/// how a plugin checks for a field or function a later ABI minor appended.
public func reaches<Struct, Field>(_ size: UInt32, _ field: KeyPath<Struct, Field>) -> Bool {
    Int(size) >= MemoryLayout<Struct>.offset(of: field)! + MemoryLayout<Field>.size
}

/// The byte model every text objective builds: tokens → the shared token embedding → the
/// backbone under `mask` → the shared byte head "head" → logits [B, T, 256]; training adds
/// the cross-entropy under the batch's loss weights. The objectives differ in their mask and
/// in how prepare_batch corrupts and weighs, not here.
public func buildByteModel(_ api: hybrid_host_api, _ graph: OpaquePointer?, _ info: hybrid_build_info,
                           _ result: UnsafeMutablePointer<hybrid_build_result>, _ err: ErrorBuffer,
                           mask: hybrid_mask_kind, prefix: Int32 = 0, normalizedByRows: Bool = false) -> hybrid_status {
    if normalizedByRows, info.mode == HYBRID_BUILD_TRAIN, !reaches(api.header.size, \hybrid_host_api.cross_entropy_per_row) {
        return fail(err, "build: a loss normalised by its positions needs a host with plugin ABI 1.6 (cross_entropy_per_row)")
    }
    let x = api.token_embedding(graph, info.tokens)
    let h = api.backbone(graph, x, mask, prefix)
    let logits = api.linear(graph, h, "head", Int64(HYBRID_BYTE_VOCAB), 0)
    result.pointee.output = logits
    if info.mode == HYBRID_BUILD_TRAIN {
        result.pointee.loss = normalizedByRows ? api.cross_entropy_per_row(graph, logits, info.targets, info.loss_weights)
                                               : api.cross_entropy(graph, logits, info.targets, info.loss_weights)
    }
    return api.graph_status(graph, err)
}

/// The softmax probability of the likeliest entry of `logits`: how confident a position's
/// prediction is, for samplers that unmask the surest positions first.
public func topProbability(_ logits: ArraySlice<Float>) -> Float {
    let top = logits.max()!
    return 1 / logits.reduce(Float(0)) { $0 + expf($1 - top) }
}

/// An objective's descriptor and function table, built once and never freed (the host never
/// unloads a plugin, so the pointers `serve` hands out stay valid).
func objectiveDescriptor(
    name: String, version: String, description: String,
    keys: [ConfigKey] = [],
    dataKind: hybrid_data_kind, windowExtra: UInt32, sampleKinds: UInt32, functions: hybrid_objective_functions
) -> UnsafeMutablePointer<hybrid_objective_descriptor> {
    var table = functions
    table.header = header(of: hybrid_objective_functions.self)
    return permanent(hybrid_objective_descriptor(
        header: header(of: hybrid_objective_descriptor.self),
        name: permanent(name), version: permanent(version), description: permanent(description),
        config_keys: keys.isEmpty ? nil : permanent(keys.map(\.cKey)), config_key_count: UInt32(keys.count),
        data_kind: dataKind, window_extra: windowExtra,
        functions: UnsafePointer(permanent(table)),
        sample_kinds: sampleKinds,
        config_rules: keys.isEmpty ? nil : permanent(keys.map(\.cRule))))
}
