// A Swift plugin's config: the keys it declares, with the values each allows (ABI 1.5's
// rules, which the host checks at the recipe's node), and the values create receives, by name.
import CHybridPlugin

/// One declared config key: its name, type, default (written as YAML), a line of
/// documentation, and what it allows: `choices` for a string, `minimum`/`maximum` for a number.
public struct ConfigKey: Sendable {
    public struct Bound: Sendable {
        public var value: Double
        public var inclusive: Bool
    }

    public var name: String
    public var type: hybrid_config_type
    public var defaultValue: String
    public var doc: String
    public var choices: [String] = []
    public var minimum: Bound?
    public var maximum: Bound?

    public init(_ name: String, _ type: hybrid_config_type, _ defaultValue: String, _ doc: String) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.doc = doc
    }

    /// A string key that takes one of `choices`.
    public static func choice(_ name: String, _ choices: [String], _ defaultValue: String, _ doc: String) -> ConfigKey {
        var key = ConfigKey(name, HYBRID_CONFIG_STRING, defaultValue, doc)
        key.choices = choices
        return key
    }

    /// A number key (`HYBRID_CONFIG_INT` or `_FLOAT`) with an inclusive or exclusive bound on
    /// either side: `above: 0` is > 0, `atLeast: 0` is >= 0, `atMost: 1` <= 1, `below: 1` < 1.
    public static func number(_ name: String, _ type: hybrid_config_type, _ defaultValue: String, _ doc: String,
                              above: Double? = nil, atLeast: Double? = nil, atMost: Double? = nil, below: Double? = nil) -> ConfigKey {
        var key = ConfigKey(name, type, defaultValue, doc)
        key.minimum = above.map { Bound(value: $0, inclusive: false) } ?? atLeast.map { Bound(value: $0, inclusive: true) }
        key.maximum = below.map { Bound(value: $0, inclusive: false) } ?? atMost.map { Bound(value: $0, inclusive: true) }
        return key
    }

    var cKey: hybrid_config_key {
        hybrid_config_key(name: permanent(name), type: type, default_value: permanent(defaultValue), doc: permanent(doc))
    }

    var cRule: hybrid_config_rule {
        var bounds: UInt32 = 0
        if let minimum { bounds |= HYBRID_BOUND_MIN | (minimum.inclusive ? 0 : HYBRID_BOUND_MIN_EXCLUSIVE) }
        if let maximum { bounds |= HYBRID_BOUND_MAX | (maximum.inclusive ? 0 : HYBRID_BOUND_MAX_EXCLUSIVE) }
        return hybrid_config_rule(choices: choices.isEmpty ? nil : permanent(choices.map { Optional(permanent($0)) }),
                                  choice_count: UInt32(choices.count), bounds: bounds,
                                  minimum: minimum?.value ?? 0, maximum: maximum?.value ?? 0)
    }
}

/// The resolved config values of an objective, looked up by key name.
public struct ConfigValues {
    let values: UnsafeBufferPointer<hybrid_config_value>

    public init(_ info: hybrid_create_info) {
        values = UnsafeBufferPointer(start: info.config, count: Int(info.config_count))
    }

    func value(_ name: String) -> hybrid_config_value {
        guard let v = values.first(where: { $0.name.map { String(cString: $0) } == name }) else {
            preconditionFailure("config key \(name) was not declared")
        }
        return v
    }

    public func int(_ name: String) -> Int { Int(value(name).int_value) }
    public func float(_ name: String) -> Double { value(name).float_value }
    public func string(_ name: String) -> String { value(name).string_value.map { String(cString: $0) } ?? "" }
    public func bool(_ name: String) -> Bool { value(name).bool_value != 0 }
}
