// A Swift objective as a plain type: `serve` builds its descriptor and a function table of C
// functions that check the host's pointers, keep the instance as the plugin state and call it.
// The protocol never crosses dlopen: each plugin library links its own copy of this file and
// serves one objective, whose type `serve` records.
import CHybridPlugin

public typealias ErrorBuffer = UnsafeMutablePointer<hybrid_error>?

/// One objective: what its descriptor says, and create (the initializer), prepare_batch,
/// build and sample as methods. Each returns `HYBRID_OK` or writes its message with `fail`.
public protocol Objective {
    static var name: String { get }
    static var version: String { get }
    static var summary: String { get }
    static var keys: [ConfigKey] { get }
    static var dataKind: hybrid_data_kind { get }
    /// Text: extra bytes per window beyond seq_len.
    static var windowExtra: UInt32 { get }
    /// `HYBRID_SAMPLES_*` bits; 0 leaves `sample` out of the table.
    static var sampleKinds: UInt32 { get }

    /// create: nil after writing the error. The host has checked every value against its key.
    init?(_ info: hybrid_create_info, _ config: ConfigValues, _ err: ErrorBuffer)
    func prepareBatch(_ request: hybrid_batch_request, _ batch: hybrid_batch, _ err: ErrorBuffer) -> hybrid_status
    func build(_ api: hybrid_host_api, _ graph: OpaquePointer?, _ info: hybrid_build_info,
               _ result: UnsafeMutablePointer<hybrid_build_result>, _ err: ErrorBuffer) -> hybrid_status
    func sample(_ api: hybrid_host_api, _ sampler: OpaquePointer?, _ request: hybrid_sample_request, _ err: ErrorBuffer) -> hybrid_status
}

extension Objective {
    public static var keys: [ConfigKey] { [] }
    public static var sampleKinds: UInt32 { 0 }

    public func sample(_ api: hybrid_host_api, _ sampler: OpaquePointer?, _ request: hybrid_sample_request, _ err: ErrorBuffer) -> hybrid_status {
        fail(err, "sample: \(Self.name) does not sample")
    }
}

/// The body of a Swift plugin's `hybrid_objective_entry`: checks the host's ABI major, records
/// `type` as the objective this library serves, and hands out its descriptor.
public func serve<O: Objective>(_ type: O.Type, _ host: UnsafePointer<hybrid_host_info>?,
                                _ out: UnsafeMutablePointer<UnsafePointer<hybrid_objective_descriptor>?>?,
                                _ err: ErrorBuffer) -> hybrid_status {
    guard let host, let out else { return fail(err, "the host passed NULL to the entry") }
    if let refusal = refuseHost(host, err) { return refusal }
    if servedDescriptor == nil {
        served = type
        servedDescriptor = UnsafePointer(objectiveDescriptor(
            name: O.name, version: O.version, description: O.summary, keys: O.keys,
            dataKind: O.dataKind, windowExtra: O.windowExtra, sampleKinds: O.sampleKinds,
            functions: hybrid_objective_functions(
                header: hybrid_struct_header(), create: objectiveCreate, destroy: objectiveDestroy,
                prepare_batch: objectivePrepareBatch, build: objectiveBuild, sample: O.sampleKinds == 0 ? nil : objectiveSample)))
    }
    out.pointee = servedDescriptor
    return HYBRID_OK
}

/// Set once by `serve`, before the host can call create; the host calls one at a time.
private nonisolated(unsafe) var served: (any Objective.Type)?
private nonisolated(unsafe) var servedDescriptor: UnsafePointer<hybrid_objective_descriptor>?

/// The plugin state: the objective, retained from create to destroy.
private final class Instance {
    let objective: any Objective
    init(_ objective: any Objective) { self.objective = objective }

    static func from(_ state: UnsafeMutableRawPointer?) -> (any Objective)? {
        state.map { Unmanaged<Instance>.fromOpaque($0).takeUnretainedValue().objective }
    }
}

private func objectiveCreate(_ info: UnsafePointer<hybrid_create_info>?, _ state: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                             _ err: ErrorBuffer) -> hybrid_status {
    guard let info = info?.pointee, let state, let type = served else { return fail(err, "create: info or state is NULL") }
    guard info.config_count == 0 || info.config != nil else { return fail(err, "create: config_count is \(info.config_count) but config is NULL") }
    guard let objective = type.init(info, ConfigValues(info), err) else { return HYBRID_FAILED }
    state.pointee = Unmanaged.passRetained(Instance(objective)).toOpaque()
    return HYBRID_OK
}

private func objectiveDestroy(_ state: UnsafeMutableRawPointer?) {
    guard let state else { return }
    Unmanaged<Instance>.fromOpaque(state).release()
}

private func objectivePrepareBatch(_ state: UnsafeMutableRawPointer?, _ request: UnsafePointer<hybrid_batch_request>?,
                                   _ batch: UnsafeMutablePointer<hybrid_batch>?, _ err: ErrorBuffer) -> hybrid_status {
    guard let objective = Instance.from(state), let request = request?.pointee, let batch = batch?.pointee
    else { return fail(err, "prepare_batch: state, request or batch is NULL") }
    return objective.prepareBatch(request, batch, err)
}

private func objectiveBuild(_ state: UnsafeMutableRawPointer?, _ api: UnsafePointer<hybrid_host_api>?, _ graph: OpaquePointer?,
                            _ info: UnsafePointer<hybrid_build_info>?, _ result: UnsafeMutablePointer<hybrid_build_result>?,
                            _ err: ErrorBuffer) -> hybrid_status {
    guard let objective = Instance.from(state), let api = api?.pointee, let info = info?.pointee, let result
    else { return fail(err, "build: state, api, info or result is NULL") }
    return objective.build(api, graph, info, result, err)
}

private func objectiveSample(_ state: UnsafeMutableRawPointer?, _ api: UnsafePointer<hybrid_host_api>?, _ sampler: OpaquePointer?,
                             _ request: UnsafePointer<hybrid_sample_request>?, _ err: ErrorBuffer) -> hybrid_status {
    guard let objective = Instance.from(state), let api = api?.pointee, let request = request?.pointee
    else { return fail(err, "sample: state, api or request is NULL") }
    return objective.sample(api, sampler, request, err)
}
