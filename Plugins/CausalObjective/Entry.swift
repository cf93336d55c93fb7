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

private nonisolated(unsafe) let causalDescriptor = objectiveDescriptor(
    name: "causal", version: "1.0.0",
    description: "next-byte prediction with causal attention",
    dataKind: HYBRID_DATA_TEXT, windowExtra: 1, sampleKinds: HYBRID_SAMPLES_CONTINUATION,
    functions: hybrid_objective_functions(
        header: hybrid_struct_header(), create: causalCreate, destroy: causalDestroy, prepare_batch: causalPrepareBatch,
        build: causalBuild, sample: causalSample))
