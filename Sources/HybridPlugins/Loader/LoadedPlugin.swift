import CHybridPlugin
import HybridRecipe

/// An objective plugin that passed every check: where it was found and what its descriptor
/// declares. Immutable; the pointers aim at the plugin's static storage, which lives as long
/// as the process because plugins are never unloaded.
public final class LoadedPlugin: @unchecked Sendable {
    /// The file as it was found or named.
    public let path: String
    /// `path` with links resolved: the key under which the library was opened.
    public let realPath: String
    public let origin: PluginOrigin
    /// Later files of the same name on the search path that this one hides.
    public let shadows: [String]
    public let descriptor: UnsafePointer<hybrid_objective_descriptor>
    public let functions: UnsafePointer<hybrid_objective_functions>
    /// The ABI version the plugin was built against.
    public let abiVersion: PluginABIVersion
    /// The objective's name from its descriptor (may differ from the file's NAME).
    public let name: String
    public let version: String
    /// The descriptor's one-line description.
    public let summary: String
    public let dataKind: PluginDataKind
    /// Text: extra bytes per window beyond seq_len.
    public let windowExtra: Int
    public let configKeys: [ConfigKeySpec]

    init(image: PluginImage, candidate: PluginCandidate) {
        self.path = candidate.path
        self.realPath = image.realPath
        self.origin = candidate.origin
        self.shadows = candidate.shadows
        self.descriptor = image.descriptor
        self.functions = image.functions
        self.abiVersion = image.abiVersion
        self.name = image.name
        self.version = image.version
        self.summary = image.summary
        self.dataKind = image.dataKind
        self.windowExtra = image.windowExtra
        self.configKeys = image.configKeys
    }

    /// NAME when the file is `libhybrid-objective-NAME.so`.
    public var nameFromFile: String? {
        PluginCandidate(path: path, origin: origin).nameFromFile
    }

    /// Whether the objective can drive sampling (its `sample` is not NULL).
    public var canSample: Bool { functions.pointee.sample != nil }

    /// What its sample() does: the descriptor's `sample_kinds` (ABI 1.1); a 1.0 plugin with a
    /// sampler continues text.
    public var sampleKinds: UInt32 {
        guard canSample else { return 0 }
        let end = MemoryLayout<hybrid_objective_descriptor>.offset(of: \.sample_kinds)! + MemoryLayout<UInt32>.size
        return Int(descriptor.pointee.header.size) >= end ? descriptor.pointee.sample_kinds : HYBRID_SAMPLES_CONTINUATION
    }

    public var canContinueText: Bool { sampleKinds & HYBRID_SAMPLES_CONTINUATION != 0 }
    public var canInfill: Bool { sampleKinds & HYBRID_SAMPLES_INFILL != 0 }
    public var canDrawImages: Bool { sampleKinds & HYBRID_SAMPLES_IMAGES != 0 }
}
