// The denoising objective's descriptor, function table and entry point.
import CHybridPlugin
import PluginSupport

@c(hybrid_objective_entry)
public func hybridObjectiveEntry(
    _ host: UnsafePointer<hybrid_host_info>?,
    _ descriptor: UnsafeMutablePointer<UnsafePointer<hybrid_objective_descriptor>?>?,
    _ err: UnsafeMutablePointer<hybrid_error>?
) -> hybrid_status {
    serveEntry(host, descriptor, err, descriptor: denoiseDescriptor)
}

private nonisolated(unsafe) let denoiseDescriptor: UnsafeMutablePointer<hybrid_objective_descriptor> =
    permanent(hybrid_objective_descriptor(
        header: header(of: hybrid_objective_descriptor.self),
        name: permanent("denoise"), version: permanent("1.0.0"),
        description: permanent("DDPM denoising of image patches (epsilon or v prediction), bidirectional attention"),
        config_keys: permanent(configKeys(denoiseKeys)), config_key_count: UInt32(denoiseKeys.count),
        data_kind: HYBRID_DATA_IMAGES, window_extra: 0,
        functions: permanent(hybrid_objective_functions(
            header: header(of: hybrid_objective_functions.self),
            create: denoiseCreate, destroy: denoiseDestroy, prepare_batch: denoisePrepareBatch,
            build: denoiseBuild, sample: denoiseSample)),
        sample_kinds: HYBRID_SAMPLES_IMAGES))
