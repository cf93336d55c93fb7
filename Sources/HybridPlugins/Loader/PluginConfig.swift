import CHybridPlugin

/// The type of a plugin config key; mirrors `hybrid_config_type`.
public enum PluginConfigType: String, Sendable, Equatable, CaseIterable {
    case int, float, bool, string

    init?(_ type: hybrid_config_type) {
        switch type {
        case HYBRID_CONFIG_INT: self = .int
        case HYBRID_CONFIG_FLOAT: self = .float
        case HYBRID_CONFIG_BOOL: self = .bool
        case HYBRID_CONFIG_STRING: self = .string
        default: return nil
        }
    }

    var cValue: hybrid_config_type {
        switch self {
        case .int: HYBRID_CONFIG_INT
        case .float: HYBRID_CONFIG_FLOAT
        case .bool: HYBRID_CONFIG_BOOL
        case .string: HYBRID_CONFIG_STRING
        }
    }
}

/// One key of an objective's `config:` section, as the plugin declared it.
public struct PluginConfigKey: Sendable, Equatable {
    public let name: String
    public let type: PluginConfigType
    /// The default as the plugin wrote it, in YAML spelling: "0.15", "true", "linear".
    public let defaultValue: String
    public let doc: String

    public init(name: String, type: PluginConfigType, defaultValue: String, doc: String) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.doc = doc
    }
}

/// A resolved config value handed to a plugin's create.
public enum PluginConfigValue: Sendable, Equatable {
    case int(Int64)
    case float(Double)
    case bool(Bool)
    case string(String)

    public var type: PluginConfigType {
        switch self {
        case .int: .int
        case .float: .float
        case .bool: .bool
        case .string: .string
        }
    }

    /// Reads `text` as written in YAML for a key of `type`; nil if it is not such a value.
    /// Booleans are `true` or `false`.
    public init?(parsing text: String, as type: PluginConfigType) {
        switch type {
        case .int:
            guard let value = Int64(text) else { return nil }
            self = .int(value)
        case .float:
            guard let value = Double(text), value.isFinite else { return nil }
            self = .float(value)
        case .bool:
            switch text {
            case "true": self = .bool(true)
            case "false": self = .bool(false)
            default: return nil
            }
        case .string:
            self = .string(text)
        }
    }

    /// This value as one for a key of `type`: the same value, or an int widened to a
    /// float; nil when the types do not fit.
    func converted(to type: PluginConfigType) -> PluginConfigValue? {
        switch (self, type) {
        case (.int(let value), .float): .float(Double(value))
        case _ where self.type == type: self
        default: nil
        }
    }
}
