/// One configuration key a plugin declares: its name, type, default (written as YAML scalar
/// text, read with the same rules as the recipe) and a line of documentation.
public struct ConfigKeySpec: Equatable, Sendable {
    public enum ValueType: String, Equatable, Sendable {
        case int, float, bool, string

        /// How an error says what a value of this type looks like.
        var expected: String {
            switch self {
            case .int: "an integer"
            case .float: "a number"
            case .bool: "true or false"
            case .string: "a string"
            }
        }
    }

    public var name: String
    public var type: ValueType
    public var defaultValue: String
    public var doc: String

    public init(name: String, type: ValueType, defaultValue: String, doc: String) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.doc = doc
    }
}

/// A checked plugin configuration value.
public enum ConfigValue: Equatable, Sendable {
    case int(Int)
    case float(Float)
    case bool(Bool)
    case string(String)

    /// Reads a plugin's declared default, written as YAML scalar text, with the rules the
    /// recipe's values follow; nil when `text` is not a value of `type`.
    public init?(defaultText text: String, type: ConfigKeySpec.ValueType) {
        guard let value = read(defaultNode(text, type), "", type, RecipeDecoder()) else { return nil }
        self = value
    }

    public var type: ConfigKeySpec.ValueType {
        switch self {
        case .int: .int
        case .float: .float
        case .bool: .bool
        case .string: .string
        }
    }
}

extension ConfigValue {
    /// The value as a recipe writes it (and `--set` reads it back).
    public var recipeText: String {
        switch self {
        case .int(let v): String(v)
        case .float(let v): "\(v)"
        case .bool(let v): v ? "true" : "false"
        case .string(let v): v
        }
    }
}

/// Checks an objective's `config:` mapping against the keys its plugin declares and returns
/// every declared key, in declaration order, with the recipe's value or the default.
///
/// - Parameters:
///   - node: the config mapping (`ObjectiveConfig.config`); nil when there is none.
///   - keys: the plugin's declared keys.
///   - keyPath: where the mapping sits, like `objectives[0].config`, for error messages.
/// - Throws: every unknown key (with a suggestion), wrong type or unreadable default, at the
///   position of the culprit.
public func resolvePluginConfig(_ node: YAMLNode?, keys: [ConfigKeySpec],
                                keyPath: String) throws(RecipeErrors) -> [(name: String, value: ConfigValue)] {
    let decoder = RecipeDecoder()
    let config = node ?? YAMLNode(.mapping([]), mark: Mark(file: keyPath))
    guard let fields = Fields(config, at: keyPath, keys: keys.map(\.name), in: decoder) else {
        throw RecipeErrors(decoder.errors)
    }
    var values: [(name: String, value: ConfigValue)] = []
    for spec in keys {
        let path = fields.childPath(spec.name)
        if let node = fields.node(spec.name) {
            if let value = read(node, path, spec.type, decoder) { values.append((spec.name, value)) }
            continue
        }
        if let value = ConfigValue(defaultText: spec.defaultValue, type: spec.type) {
            values.append((spec.name, value))
        } else {
            decoder.report(config.mark, path, reason: "the plugin declares a default of the wrong type",
                           expected: spec.type.expected, found: defaultNode(spec.defaultValue, spec.type).found)
        }
    }
    guard decoder.errors.isEmpty else { throw RecipeErrors(decoder.errors) }
    return values
}

/// A declared default as a node: a string default is taken as written; the others read like
/// plain recipe text.
private func defaultNode(_ text: String, _ type: ConfigKeySpec.ValueType) -> YAMLNode {
    let style: YAMLScalar.Style = type == .string ? .doubleQuoted : .plain
    return YAMLNode(.scalar(YAMLScalar(text: text, style: style)), mark: Mark(file: ""))
}

private func read(_ node: YAMLNode, _ path: String, _ type: ConfigKeySpec.ValueType,
                  _ decoder: RecipeDecoder) -> ConfigValue? {
    switch type {
    case .int: decoder.int(node, path, .any).map(ConfigValue.int)
    case .float: decoder.float(node, path, .any).map(ConfigValue.float)
    case .bool: decoder.bool(node, path).map(ConfigValue.bool)
    case .string: decoder.string(node, path, expected: type.expected, allowEmpty: true).map(ConfigValue.string)
    }
}
