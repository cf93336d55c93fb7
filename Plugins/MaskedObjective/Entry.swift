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

private nonisolated(unsafe) let maskedDescriptor = objectiveDescriptor(
    name: "masked", version: "1.0.0",
    description: "masked-byte prediction (15% chosen: 80% [MASK], 10% random, 10% kept), bidirectional attention",
    keys: maskedKeys,
    dataKind: HYBRID_DATA_TEXT, windowExtra: 0, sampleKinds: HYBRID_SAMPLES_INFILL,
    functions: hybrid_objective_functions(
        header: hybrid_struct_header(), create: maskedCreate, destroy: maskedDestroy, prepare_batch: maskedPrepareBatch,
        build: maskedBuild, sample: maskedSample))
