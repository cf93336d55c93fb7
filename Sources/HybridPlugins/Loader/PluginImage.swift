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
        let d = try Self.read(descriptor, part: "descriptor", minimumSize: PluginABI.descriptorSize1_0, path: path)
        guard let functions = d.functions else {
            throw refuse("the function table is NULL; expected create, destroy, prepare_batch, build")
        }
        let f = try Self.read(functions, part: "function table", minimumSize: PluginABI.functionsSize1_0, path: path)
        let missing = [("create", f.create == nil), ("destroy", f.destroy == nil),
                       ("prepare_batch", f.prepare_batch == nil), ("build", f.build == nil)]
            .filter(\.1).map(\.0)
        guard missing.isEmpty else {
            throw refuse("the function table has NULL \(missing.joined(separator: ", ")); "
                + "create, destroy, prepare_batch and build are required")
        }

        let name = try Self.text(d.name, "the name", limit: Self.nameLimit, refuse: refuse) ?? ""
        guard !name.isEmpty else { throw refuse("the name is empty; expected a short [a-z0-9_-] name") }
        guard name.utf8.allSatisfy(Self.isNameByte) else {
            throw refuse("the name \"\(name)\" has characters outside [a-z0-9_-]")
        }
        guard d.window_extra <= Self.maxWindowExtra else {
            throw refuse("window_extra is \(d.window_extra); expected at most \(Self.maxWindowExtra) extra bytes per window")
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
        self.version = try Self.text(d.version, "the version", limit: Self.nameLimit, refuse: refuse) ?? ""
        self.summary = try Self.text(d.description, "the description", limit: Self.textLimit, refuse: refuse) ?? ""
        self.dataKind = dataKind
        self.windowExtra = Int(d.window_extra)
        // Rules from ABI 1.5 (a shorter descriptor's copy reads as zeros there: no rules).
        self.configKeys = try Self.configKeys(d.config_keys, count: Int(d.config_key_count),
                                              rules: abiVersion.minor >= 5 ? d.config_rules : nil, refuse: refuse)
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "_"), UInt8(ascii: "-"): true
        default: false
        }
    }

    /// Bounds on what a descriptor may declare, so that a wild count or an unterminated string
    /// is refused instead of read without end.
    static let maxConfigKeys = 1024
    static let maxWindowExtra: UInt32 = 65_536
    static let nameLimit = 256
    static let textLimit = 65_536

    /// A copy of the struct at `pointer` once its header is readable and acceptable and its
    /// declared size readable: a wild pointer is refused, never followed.
    private static func read<T>(_ pointer: UnsafePointer<T>, part: String, minimumSize: Int,
                                path: String) throws(PluginError) -> T {
        let unreadable = PluginError.invalidDescriptor(path: path, problem: "the \(part) points at unreadable memory")
        guard let header = ReadableMemory.load(UnsafeRawPointer(pointer).assumingMemoryBound(to: hybrid_struct_header.self)) else {
            throw unreadable
        }
        try PluginABI.check(header, part: part, minimumSize: minimumSize, path: path)
        guard let value = ReadableMemory.load(pointer, bytes: Int(header.size)) else { throw unreadable }
        return value
    }

    /// The C string at `pointer` (nil for NULL), refused if unreadable or longer than `limit`.
    private static func text(_ pointer: UnsafePointer<CChar>?, _ what: String, limit: Int,
                             refuse: (String) -> PluginError) throws(PluginError) -> String? {
        guard let pointer else { return nil }
        switch ReadableMemory.string(pointer, limit: limit) {
        case .success(let text): return text
        case .failure(.unreadable): throw refuse("\(what) points at unreadable memory")
        case .failure(.unterminated): throw refuse("\(what) runs past \(limit) bytes without a NUL")
        }
    }

    private static func configKeys(_ keys: UnsafePointer<hybrid_config_key>?, count: Int, rules: UnsafePointer<hybrid_config_rule>?,
                                   refuse: (String) -> PluginError) throws(PluginError) -> [ConfigKeySpec] {
        guard count > 0 else { return [] }
        guard count <= maxConfigKeys else {
            throw refuse("config_key_count is \(count); expected at most \(maxConfigKeys)")
        }
        guard let keys else { throw refuse("config_key_count is \(count) but config_keys is NULL") }
        guard ReadableMemory.isReadable(keys, count: count) else {
            throw refuse("config_keys points at unreadable memory for its \(count) keys")
        }
        if let rules, !ReadableMemory.isReadable(rules, count: count) {
            throw refuse("config_rules points at unreadable memory for its \(count) keys' rules")
        }
        var result: [ConfigKeySpec] = []
        var names = Set<String>()
        for index in 0..<count {
            let key = keys[index]
            let name = try text(key.name, "config key \(index)'s name", limit: nameLimit, refuse: refuse) ?? ""
            guard !name.isEmpty else { throw refuse("config key \(index) has an empty name") }
            guard names.insert(name).inserted else {
                throw refuse("config key \"\(name)\" is declared twice")
            }
            guard let type = ConfigKeySpec.ValueType(key.type) else {
                throw refuse("config key \"\(name)\" has type \(key.type.rawValue); expected "
                    + "0 int, 1 float, 2 bool or 3 string")
            }
            let defaultValue = try text(key.default_value, "config key \"\(name)\"'s default", limit: textLimit, refuse: refuse)
            guard let defaultValue, ConfigValue(defaultText: defaultValue, type: type) != nil else {
                throw refuse("config key \"\(name)\" (\(type.rawValue)) has default "
                    + (defaultValue.map { "\"\($0)\", which is not a \(type.rawValue)" } ?? "NULL"))
            }
            var spec = ConfigKeySpec(name: name, type: type, defaultValue: defaultValue,
                                     doc: try text(key.doc, "config key \"\(name)\"'s doc", limit: textLimit, refuse: refuse) ?? "")
            if let rules { try rule(rules[index], into: &spec, refuse: refuse) }
            result.append(spec)
        }
        return result
    }

    /// Adds a key's rule (ABI 1.5) to its spec: choices for a string key, bounds for a number
    /// key, and the declared default must be one the rule allows.
    private static func rule(_ rule: hybrid_config_rule, into spec: inout ConfigKeySpec,
                             refuse: (String) -> PluginError) throws(PluginError) {
        let name = spec.name
        if rule.choice_count > 0 {
            guard spec.type == .string else { throw refuse("config key \"\(name)\" (\(spec.type.rawValue)) lists choices; only a string key may") }
            guard rule.choice_count <= UInt32(maxConfigKeys) else {
                throw refuse("config key \"\(name)\" lists \(rule.choice_count) choices; expected at most \(maxConfigKeys)")
            }
            let count = Int(rule.choice_count)
            guard let choices = rule.choices, ReadableMemory.isReadable(choices, count: count) else {
                throw refuse("config key \"\(name)\"'s \(count) choices are NULL or unreadable")
            }
            for i in 0..<count {
                guard let choice = try text(choices[i], "config key \"\(name)\"'s choice \(i)", limit: nameLimit, refuse: refuse), !choice.isEmpty else {
                    throw refuse("config key \"\(name)\"'s choice \(i) is NULL or empty")
                }
                spec.choices.append(choice)
            }
        }
        let known = HYBRID_BOUND_MIN | HYBRID_BOUND_MIN_EXCLUSIVE | HYBRID_BOUND_MAX | HYBRID_BOUND_MAX_EXCLUSIVE
        guard rule.bounds & ~known == 0 else { throw refuse("config key \"\(name)\" has unknown bound bits \(rule.bounds)") }
        if rule.bounds != 0 {
            guard spec.type == .int || spec.type == .float else {
                throw refuse("config key \"\(name)\" (\(spec.type.rawValue)) has bounds; only an int or float key may")
            }
            if rule.bounds & HYBRID_BOUND_MIN != 0 {
                guard rule.minimum.isFinite else { throw refuse("config key \"\(name)\"'s minimum is \(rule.minimum); expected a finite number") }
                spec.minimum = .init(rule.minimum, inclusive: rule.bounds & HYBRID_BOUND_MIN_EXCLUSIVE == 0)
            }
            if rule.bounds & HYBRID_BOUND_MAX != 0 {
                guard rule.maximum.isFinite else { throw refuse("config key \"\(name)\"'s maximum is \(rule.maximum); expected a finite number") }
                spec.maximum = .init(rule.maximum, inclusive: rule.bounds & HYBRID_BOUND_MAX_EXCLUSIVE == 0)
            }
            if let lo = spec.minimum, let hi = spec.maximum, lo.value > hi.value {
                throw refuse("config key \"\(name)\" has minimum \(lo.value) above its maximum \(hi.value)")
            }
        }
        guard let value = ConfigValue(defaultText: spec.defaultValue, type: spec.type), spec.allows(value) else {
            throw refuse("config key \"\(name)\" has default \"\(spec.defaultValue)\", which its own rule refuses (expected \(spec.expected))")
        }
    }
}
