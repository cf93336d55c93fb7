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

private nonisolated(unsafe) let distillDescriptor = objectiveDescriptor(
    name: "distill", version: "1.0.0",
    description: "progressive distillation: a student matching two DDIM steps of its frozen teacher in one",
    keys: distillKeys,
    dataKind: HYBRID_DATA_IMAGES, windowExtra: 0, sampleKinds: HYBRID_SAMPLES_IMAGES,
    functions: hybrid_objective_functions(
        header: hybrid_struct_header(), create: distillCreate, destroy: distillDestroy, prepare_batch: distillPrepareBatch,
        build: distillBuild, sample: distillSample))
