// The distillation objective's descriptor, function table and entry point.
import CHybridPlugin
import PluginSupport

@c(hybrid_objective_entry)
public func hybridObjectiveEntry(
    _ host: UnsafePointer<hybrid_host_info>?,
    _ descriptor: UnsafeMutablePointer<UnsafePointer<hybrid_objective_descriptor>?>?,
    _ err: UnsafeMutablePointer<hybrid_error>?
) -> hybrid_status {
    serveEntry(host, descriptor, err, descriptor: distillDescriptor)
}

private nonisolated(unsafe) let distillDescriptor: UnsafeMutablePointer<hybrid_objective_descriptor> =
    permanent(hybrid_objective_descriptor(
        header: header(of: hybrid_objective_descriptor.self),
        name: permanent("distill"), version: permanent("1.0.0"),
        description: permanent("progressive distillation: a student matching two DDIM steps of its frozen teacher in one"),
        config_keys: permanent(configKeys(distillKeys)), config_key_count: UInt32(distillKeys.count),
        data_kind: HYBRID_DATA_IMAGES, window_extra: 0,
        functions: permanent(hybrid_objective_functions(
            header: header(of: hybrid_objective_functions.self),
            create: distillCreate, destroy: distillDestroy, prepare_batch: distillPrepareBatch,
            build: distillBuild, sample: distillSample)),
        sample_kinds: HYBRID_SAMPLES_IMAGES))
