/// One configuration key a plugin declares: its name, type, default (written as YAML scalar
/// text, read with the same rules as the recipe) and a line of documentation.
public struct ConfigKeySpec: Equatable, Sendable {
    public enum ValueType: String, Equatable, Sendable {
        case int, float, bool, string

        /// How an error says what a value of this type looks like.
        public var expected: String {
            switch self {
            case .int: "an integer"
            case .float: "a number"
            case .bool: "true or false"
            case .string: "a string"
            }
        }
    }

    /// A bound on a number key's values.
    public struct Bound: Equatable, Sendable {
        public var value: Double
        public var inclusive: Bool

        public init(_ value: Double, inclusive: Bool) {
            self.value = value
            self.inclusive = inclusive
        }
    }

    public var name: String
    public var type: ValueType
    public var defaultValue: String
    public var doc: String
    /// The values a string key allows; empty: any.
    public var choices: [String]
    public var minimum: Bound?
    public var maximum: Bound?

    public init(name: String, type: ValueType, defaultValue: String, doc: String,
                choices: [String] = [], minimum: Bound? = nil, maximum: Bound? = nil) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.doc = doc
        self.choices = choices
        self.minimum = minimum
        self.maximum = maximum
    }

    /// Whether `value` (of this key's type) is one the key allows.
    public func allows(_ value: ConfigValue) -> Bool {
        switch value {
        case .int(let v): inBounds(Double(v))
        case .float(let v): inBounds(Double(v))
        case .string(let v): choices.isEmpty || choices.contains(v)
        case .bool: true
        }
    }

    private func inBounds(_ v: Double) -> Bool {
        if let minimum, minimum.inclusive ? v < minimum.value : v <= minimum.value { return false }
        if let maximum, maximum.inclusive ? v > maximum.value : v >= maximum.value { return false }
        return true
    }

    /// What an error says the key takes: "a number in (0, 1]", "an integer >= 2", "one of
    /// constant, linear, cosine".
    public var expected: String {
        if !choices.isEmpty { return choices.count == 1 ? "`\(choices[0])`" : "one of " + choices.joined(separator: ", ") }
        func text(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : "\(v)" }
        switch (minimum, maximum) {
        case let (lo?, hi?):
            return "\(type.expected) in \(lo.inclusive ? "[" : "(")\(text(lo.value)), \(text(hi.value))\(hi.inclusive ? "]" : ")")"
        case let (lo?, nil): return "\(type.expected) \(lo.inclusive ? ">=" : ">") \(text(lo.value))"
        case let (nil, hi?): return "\(type.expected) \(hi.inclusive ? "<=" : "<") \(text(hi.value))"
        case (nil, nil): return type.expected
        }
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
        let spec = ConfigKeySpec(name: "", type: type, defaultValue: text, doc: "")
        guard let value = read(defaultNode(text, type), "", spec, RecipeDecoder()) else { return nil }
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
/// - Throws: every unknown key (with a suggestion), wrong type, value its key's rule refuses
///   (a choice with a suggestion) or unreadable default, at the position of the culprit.
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
            if let value = read(node, path, spec, decoder) { values.append((spec.name, value)) }
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

/// A value of `spec`'s type that its rule allows; an error in the rule's words otherwise.
private func read(_ node: YAMLNode, _ path: String, _ spec: ConfigKeySpec, _ decoder: RecipeDecoder) -> ConfigValue? {
    switch spec.type {
    case .int: return decoder.int(node, path, Rule(expected: spec.expected) { spec.allows(.int($0)) }).map(ConfigValue.int)
    case .float: return decoder.float(node, path, Rule(expected: spec.expected) { spec.allows(.float($0)) }).map(ConfigValue.float)
    case .bool: return decoder.bool(node, path).map(ConfigValue.bool)
    case .string:
        guard let text = decoder.string(node, path, expected: spec.expected, allowEmpty: true) else { return nil }
        guard spec.allows(.string(text)) else {
            decoder.report(node.mark, path, expected: spec.expected, found: node.found,
                           suggestion: DidYouMean.suggestion(for: text, among: spec.choices))
            return nil
        }
        return .string(text)
    }
}
