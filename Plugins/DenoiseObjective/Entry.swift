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

private nonisolated(unsafe) let denoiseDescriptor = objectiveDescriptor(
    name: "denoise", version: "1.0.0",
    description: "DDPM denoising of image patches (epsilon or v prediction), bidirectional attention",
    keys: denoiseKeys,
    dataKind: HYBRID_DATA_IMAGES, windowExtra: 0, sampleKinds: HYBRID_SAMPLES_IMAGES,
    functions: hybrid_objective_functions(
        header: hybrid_struct_header(), create: denoiseCreate, destroy: denoiseDestroy, prepare_batch: denoisePrepareBatch,
        build: denoiseBuild, sample: denoiseSample))
