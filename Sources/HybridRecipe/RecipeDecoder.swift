/// A range a number must lie in, in the words an error uses for it.
struct Rule<Value: Sendable>: Sendable {
    let expected: String
    /// Said before "expected …" when the value has the right type but fails `test`.
    var reason: String? = nil
    let test: @Sendable (Value) -> Bool
}

extension Rule where Value == Int {
    static var any: Rule { Rule(expected: "an integer") { _ in true } }
    static var positive: Rule { Rule(expected: "a positive integer") { $0 > 0 } }
    static var nonNegative: Rule { Rule(expected: "an integer >= 0") { $0 >= 0 } }
}

extension Rule where Value == Float {
    static var any: Rule { Rule(expected: "a number") { _ in true } }
    static var positive: Rule { Rule(expected: "a number > 0") { $0 > 0 } }
    static var nonNegative: Rule { Rule(expected: "a number >= 0") { $0 >= 0 } }
    static var unit: Rule { Rule(expected: "a number in [0, 1]") { $0 >= 0 && $0 <= 1 } }
    static var belowOne: Rule { Rule(expected: "a number in [0, 1)") { $0 >= 0 && $0 < 1 } }
}

/// Reads nodes as typed values and collects an error for each one that is not what was
/// expected. Every reader returns nil after recording what went wrong, so decoding goes on
/// and reports everything at once.
final class RecipeDecoder {
    private(set) var errors: [RecipeError]

    init(errors: [RecipeError] = []) { self.errors = errors }

    func report(_ mark: Mark, _ keyPath: String, reason: String? = nil, expected: String? = nil,
                found: String? = nil, suggestion: String? = nil) {
        errors.append(RecipeError(at: mark, keyPath: keyPath, reason: reason, expected: expected,
                                  found: found, suggestion: suggestion))
    }

    /// A mapping's entries; an empty value stands for an empty mapping.
    func entries(_ node: YAMLNode, _ path: String) -> [YAMLEntry]? {
        if node.isNull { return [] }
        guard let entries = node.entries else {
            report(node.mark, path, expected: "a mapping", found: node.found)
            return nil
        }
        return entries
    }

    /// A list's items; an empty value stands for an empty list.
    func items(_ node: YAMLNode, _ path: String, expected: String) -> [YAMLNode]? {
        if node.isNull { return [] }
        guard case .sequence(let items) = node.content else {
            report(node.mark, path, expected: expected, found: node.found)
            return nil
        }
        return items
    }

    /// Every item read with `item` (each under `path[i]`); nil when any failed.
    func list<T>(_ node: YAMLNode, _ path: String, expected: String, _ item: (YAMLNode, String) -> T?) -> [T]? {
        guard let items = items(node, path, expected: expected) else { return nil }
        let values = items.enumerated().map { item($1, KeyPathText.index(path, $0)) }
        return values.contains { $0 == nil } ? nil : values.compactMap { $0 }
    }

    func int(_ node: YAMLNode, _ path: String, _ rule: Rule<Int>) -> Int? {
        guard case .scalar(let scalar) = node.content, scalar.kind == .int, let value = Int(scalar.text) else {
            report(node.mark, path, expected: rule.expected, found: node.found)
            return nil
        }
        return check(value, rule, node, path)
    }

    /// Integers are numbers too; `1e-3` and `0.001` both read.
    func float(_ node: YAMLNode, _ path: String, _ rule: Rule<Float>) -> Float? {
        guard case .scalar(let scalar) = node.content, scalar.kind == .int || scalar.kind == .float,
              let value = Float(scalar.text), value.isFinite else {
            report(node.mark, path, expected: rule.expected, found: node.found)
            return nil
        }
        return check(value, rule, node, path)
    }

    func bool(_ node: YAMLNode, _ path: String) -> Bool? {
        guard case .scalar(let scalar) = node.content, scalar.kind == .bool else {
            report(node.mark, path, expected: "true or false", found: node.found)
            return nil
        }
        return scalar.text.lowercased() == "true"
    }

    /// Any scalar's text except an empty value (and, unless allowed, an empty string).
    func string(_ node: YAMLNode, _ path: String, expected: String, allowEmpty: Bool = false) -> String? {
        guard case .scalar(let scalar) = node.content, scalar.kind != .null,
              allowEmpty || !scalar.text.isEmpty else {
            report(node.mark, path, expected: expected, found: node.found)
            return nil
        }
        return scalar.text
    }

    /// One of an enum's names, with a suggestion for a near miss.
    func choice<T: RawRepresentable & CaseIterable>(_ node: YAMLNode, _ path: String) -> T? where T.RawValue == String {
        let names = T.allCases.map(\.rawValue)
        guard case .scalar(let scalar) = node.content, let value = T(rawValue: scalar.text) else {
            var suggestion: String?
            if case .scalar(let scalar) = node.content {
                suggestion = DidYouMean.suggestion(for: scalar.text, among: names)
            }
            report(node.mark, path, expected: Self.choices(T.self), found: node.found, suggestion: suggestion)
            return nil
        }
        return value
    }

    static func choices<T: RawRepresentable & CaseIterable>(_: T.Type) -> String where T.RawValue == String {
        let names = T.allCases.map(\.rawValue)
        return names.count == 1 ? "`\(names[0])`" : "one of " + names.joined(separator: ", ")
    }

    private func check<V>(_ value: V, _ rule: Rule<V>, _ node: YAMLNode, _ path: String) -> V? {
        guard rule.test(value) else {
            report(node.mark, path, reason: rule.reason, expected: rule.expected, found: node.found)
            return nil
        }
        return value
    }
}

/// One mapping being decoded: finds its keys, fills defaults, reports missing keys at the
/// mapping and unknown keys (with a suggestion) at the key.
struct Fields {
    let decoder: RecipeDecoder
    let path: String
    let mark: Mark
    let entries: [YAMLEntry]

    /// Nil (after reporting) when `node` is not a mapping. `keys` are the names allowed here.
    init?(_ node: YAMLNode, at path: String, keys: [String], in decoder: RecipeDecoder) {
        guard let entries = decoder.entries(node, path) else { return nil }
        self.decoder = decoder
        self.path = path
        self.mark = node.mark
        self.entries = entries
        for entry in entries where !keys.contains(entry.key) {
            decoder.report(entry.keyMark, childPath(entry.key), reason: "unknown key",
                           expected: "one of " + keys.joined(separator: ", "),
                           suggestion: DidYouMean.suggestion(for: entry.key, among: keys))
        }
    }

    func childPath(_ key: String) -> String { KeyPathText.child(path, key) }

    func node(_ key: String) -> YAMLNode? { entries.first { $0.key == key }?.value }

    /// Reads `key` if present, else takes `default`, else reports the key missing.
    func read<T>(_ key: String, default value: T?, expected: String, _ reader: (YAMLNode, String) -> T?) -> T? {
        if let node = node(key) { return reader(node, childPath(key)) }
        if let value { return value }
        decoder.report(mark, childPath(key), reason: "missing required key", expected: expected)
        return nil
    }

    /// A nested mapping; when absent and optional, decoded from an empty mapping so that its
    /// own defaults apply.
    func section<T>(_ key: String, required: Bool, _ decode: (YAMLNode, String) -> T?) -> T? {
        if let node = node(key) { return decode(node, childPath(key)) }
        if !required { return decode(YAMLNode(.mapping([]), mark: mark), childPath(key)) }
        decoder.report(mark, childPath(key), reason: "missing required key", expected: "a mapping")
        return nil
    }

    func int(_ key: String, _ rule: Rule<Int>, default value: Int? = nil) -> Int? {
        read(key, default: value, expected: rule.expected) { decoder.int($0, $1, rule) }
    }

    func float(_ key: String, _ rule: Rule<Float>, default value: Float? = nil) -> Float? {
        read(key, default: value, expected: rule.expected) { decoder.float($0, $1, rule) }
    }

    func bool(_ key: String, default value: Bool? = nil) -> Bool? {
        read(key, default: value, expected: "true or false") { decoder.bool($0, $1) }
    }

    func string(_ key: String, expected: String, default value: String? = nil) -> String? {
        read(key, default: value, expected: expected) { decoder.string($0, $1, expected: expected) }
    }

    func choice<T: RawRepresentable & CaseIterable>(_ key: String, default value: T) -> T? where T.RawValue == String {
        read(key, default: value, expected: RecipeDecoder.choices(T.self)) { decoder.choice($0, $1) }
    }
}
