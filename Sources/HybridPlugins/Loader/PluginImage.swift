import CHybridPlugin
import HybridRecipe

/// What the raw examples handed to `prepare_batch` are; mirrors `hybrid_data_kind`.
public enum PluginDataKind: String, Sendable, Equatable {
    /// Byte windows of `seq_len + window_extra` bytes.
    case text
    /// Square grey images with labels (ABI 1.1).
    case images
}

/// A validated plugin library: its handle, its descriptor and what the descriptor says, read
/// once. The library is never closed, so every pointer here stays valid for the process.
struct PluginImage: @unchecked Sendable {
    let realPath: String
    let handle: UnsafeMutableRawPointer
    let descriptor: UnsafePointer<hybrid_objective_descriptor>
    let functions: UnsafePointer<hybrid_objective_functions>
    let abiVersion: PluginABIVersion
    let name: String
    let version: String
    let summary: String
    let dataKind: PluginDataKind
    let windowExtra: Int
    let configKeys: [ConfigKeySpec]

    /// Checks what the entry returned against the ABI rules and the host's expectations;
    /// `path` is the file as the caller named it, for messages.
    init(descriptor: UnsafePointer<hybrid_objective_descriptor>?, handle: UnsafeMutableRawPointer,
         realPath: String, path: String) throws(PluginError) {
        func refuse(_ problem: String) -> PluginError {
            .invalidDescriptor(path: path, problem: problem)
        }
        guard let descriptor else { throw refuse("the entry returned HYBRID_OK but no descriptor") }
        try PluginABI.check(descriptor.pointee.header, part: "descriptor",
                            minimumSize: PluginABI.descriptorSize1_0, path: path)
        // The size check above makes every ABI 1.0 field readable.
        let d = descriptor.pointee
        guard let functions = d.functions else {
            throw refuse("the function table is NULL; expected create, destroy, prepare_batch, build")
        }
        try PluginABI.check(functions.pointee.header, part: "function table",
                            minimumSize: PluginABI.functionsSize1_0, path: path)
        let f = functions.pointee
        let missing = [("create", f.create == nil), ("destroy", f.destroy == nil),
                       ("prepare_batch", f.prepare_batch == nil), ("build", f.build == nil)]
            .filter(\.1).map(\.0)
        guard missing.isEmpty else {
            throw refuse("the function table has NULL \(missing.joined(separator: ", ")); "
                + "create, destroy, prepare_batch and build are required")
        }

        let name = d.name.map { String(cString: $0) } ?? ""
        guard !name.isEmpty else { throw refuse("the name is empty; expected a short [a-z0-9_-] name") }
        guard name.utf8.allSatisfy(Self.isNameByte) else {
            throw refuse("the name \"\(name)\" has characters outside [a-z0-9_-]")
        }
        let dataKind: PluginDataKind
        switch d.data_kind {
        case HYBRID_DATA_TEXT: dataKind = .text
        case HYBRID_DATA_IMAGES where PluginABIVersion(d.header).minor >= 1: dataKind = .images
        default:
            throw refuse("data kind \(d.data_kind.rawValue) is unknown to this host "
                + "(ABI \(PluginABI.host) knows \(HYBRID_DATA_TEXT.rawValue), text, and from 1.1 \(HYBRID_DATA_IMAGES.rawValue), images)")
        }

        self.realPath = realPath
        self.handle = handle
        self.descriptor = descriptor
        self.functions = functions
        self.abiVersion = PluginABIVersion(d.header)
        self.name = name
        self.version = d.version.map { String(cString: $0) } ?? ""
        self.summary = d.description.map { String(cString: $0) } ?? ""
        self.dataKind = dataKind
        self.windowExtra = Int(d.window_extra)
        self.configKeys = try Self.configKeys(d.config_keys, count: Int(d.config_key_count),
                                              refuse: refuse)
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "_"), UInt8(ascii: "-"): true
        default: false
        }
    }

    private static func configKeys(_ keys: UnsafePointer<hybrid_config_key>?, count: Int,
                                   refuse: (String) -> PluginError) throws(PluginError) -> [ConfigKeySpec] {
        guard count > 0 else { return [] }
        guard let keys else { throw refuse("config_key_count is \(count) but config_keys is NULL") }
        var result: [ConfigKeySpec] = []
        for index in 0..<count {
            let key = keys[index]
            let name = key.name.map { String(cString: $0) } ?? ""
            guard !name.isEmpty else { throw refuse("config key \(index) has an empty name") }
            guard !result.contains(where: { $0.name == name }) else {
                throw refuse("config key \"\(name)\" is declared twice")
            }
            guard let type = ConfigKeySpec.ValueType(key.type) else {
                throw refuse("config key \"\(name)\" has type \(key.type.rawValue); expected "
                    + "0 int, 1 float, 2 bool or 3 string")
            }
            let defaultValue = key.default_value.map { String(cString: $0) }
            guard let defaultValue, ConfigValue(defaultText: defaultValue, type: type) != nil else {
                throw refuse("config key \"\(name)\" (\(type.rawValue)) has default "
                    + (defaultValue.map { "\"\($0)\", which is not a \(type.rawValue)" } ?? "NULL"))
            }
            result.append(ConfigKeySpec(name: name, type: type, defaultValue: defaultValue,
                                        doc: key.doc.map { String(cString: $0) } ?? ""))
        }
        return result
    }
}
