// The masked objective's descriptor, function table and entry point.
import CHybridPlugin
import PluginSupport

@c(hybrid_objective_entry)
public func hybridObjectiveEntry(
    _ host: UnsafePointer<hybrid_host_info>?,
    _ descriptor: UnsafeMutablePointer<UnsafePointer<hybrid_objective_descriptor>?>?,
    _ err: UnsafeMutablePointer<hybrid_error>?
) -> hybrid_status {
    serveEntry(host, descriptor, err, descriptor: maskedDescriptor)
}

private nonisolated(unsafe) let maskedDescriptor: UnsafeMutablePointer<hybrid_objective_descriptor> =
    permanent(hybrid_objective_descriptor(
        header: header(of: hybrid_objective_descriptor.self),
        name: permanent("masked"), version: permanent("1.0.0"),
        description: permanent("masked-byte prediction (15% chosen: 80% [MASK], 10% random, 10% kept), bidirectional attention"),
        config_keys: permanent(configKeys(maskedKeys)), config_key_count: UInt32(maskedKeys.count),
        data_kind: HYBRID_DATA_TEXT, window_extra: 0,
        functions: permanent(hybrid_objective_functions(
            header: header(of: hybrid_objective_functions.self),
            create: maskedCreate, destroy: maskedDestroy, prepare_batch: maskedPrepareBatch,
            build: maskedBuild, sample: maskedSample)),
        sample_kinds: HYBRID_SAMPLES_INFILL))
