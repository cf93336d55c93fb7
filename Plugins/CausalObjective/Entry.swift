// The causal objective's descriptor, function table and entry point: what the host finds by
// dlsym. Everything here is built once, on first use, and never freed, so the pointers the
// entry hands out stay valid as long as the library is loaded (the host never unloads it).
import CHybridPlugin
import PluginSupport

@c(hybrid_objective_entry)
public func hybridObjectiveEntry(
    _ host: UnsafePointer<hybrid_host_info>?,
    _ descriptor: UnsafeMutablePointer<UnsafePointer<hybrid_objective_descriptor>?>?,
    _ err: UnsafeMutablePointer<hybrid_error>?
) -> hybrid_status {
    serveEntry(host, descriptor, err, descriptor: causalDescriptor)
}

private nonisolated(unsafe) let causalFunctions: UnsafeMutablePointer<hybrid_objective_functions> =
    permanent(hybrid_objective_functions(
        header: header(of: hybrid_objective_functions.self),
        create: causalCreate, destroy: causalDestroy, prepare_batch: causalPrepareBatch,
        build: causalBuild, sample: causalSample))

private nonisolated(unsafe) let causalDescriptor: UnsafeMutablePointer<hybrid_objective_descriptor> =
    permanent(hybrid_objective_descriptor(
        header: header(of: hybrid_objective_descriptor.self),
        name: permanent("causal"), version: permanent("1.0.0"),
        description: permanent("next-byte prediction with causal attention"),
        config_keys: nil, config_key_count: 0,
        data_kind: HYBRID_DATA_TEXT, window_extra: 1,
        functions: UnsafePointer(causalFunctions),
        sample_kinds: HYBRID_SAMPLES_CONTINUATION))
