/// Where a node came from. `line` and `column` are 1-based; a mark with `line == 0` names a
/// whole file or a `--set` override rather than a position in it.
public struct Mark: Equatable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int = 0, column: Int = 0) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// `recipes/x.yaml:4:12`, or just the file (or `--set key.path`) when there is no position.
    public var description: String { line > 0 ? "\(file):\(line):\(column)" : file }
}

/// A YAML scalar as written: its text, how it was quoted, and its explicit tag if any.
/// The style matters: a quoted `"1"` is a string, a plain `1` is an integer.
public struct YAMLScalar: Equatable, Sendable {
    public enum Style: Equatable, Sendable { case plain, singleQuoted, doubleQuoted, literal, folded }
    /// What the scalar means under the YAML 1.2 core schema.
    public enum Kind: Equatable, Sendable { case null, bool, int, float, string }

    public var text: String
    public var style: Style
    public var tag: String?

    public init(text: String, style: Style = .plain, tag: String? = nil) {
        self.text = text
        self.style = style
        self.tag = tag
    }

    /// Quoted, block or `!!str`-tagged scalars are strings; a plain one is resolved by its text.
    public var kind: Kind {
        if style != .plain || tag == "tag:yaml.org,2002:str" || tag == "!" { return .string }
        return Self.kind(ofPlain: text)
    }

    /// The core schema's resolution of an untagged plain scalar.
    static func kind(ofPlain text: String) -> Kind {
        if ["", "~", "null", "Null", "NULL"].contains(text) { return .null }
        if ["true", "True", "TRUE", "false", "False", "FALSE"].contains(text) { return .bool }
        if text.wholeMatch(of: #/[-+]?[0-9]+/#) != nil { return .int }
        if text.wholeMatch(of: #/[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?/#) != nil
            || text.wholeMatch(of: #/[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)/#) != nil {
            return .float
        }
        return .string
    }

    /// Scalars are equal when they mean the same: the same kind and text (any two nulls are equal).
    public static func == (a: YAMLScalar, b: YAMLScalar) -> Bool {
        a.kind == b.kind && (a.kind == .null || a.text == b.text)
    }
}

/// One `key: value` pair of a mapping. Keys are always scalars and kept as text.
public struct YAMLEntry: Equatable, Sendable {
    public var key: String
    public var keyMark: Mark
    public var value: YAMLNode

    public init(key: String, keyMark: Mark, value: YAMLNode) {
        self.key = key
        self.keyMark = keyMark
        self.value = value
    }

    /// Marks take no part in equality.
    public static func == (a: YAMLEntry, b: YAMLEntry) -> Bool { a.key == b.key && a.value == b.value }
}

/// A YAML node with the place it came from. Mappings keep their keys in the order written.
public struct YAMLNode: Equatable, Sendable {
    public enum Content: Equatable, Sendable {
        case scalar(YAMLScalar)
        case mapping([YAMLEntry])
        case sequence([YAMLNode])
    }

    public var content: Content
    public var mark: Mark

    public init(_ content: Content, mark: Mark) {
        self.content = content
        self.mark = mark
    }

    /// Nodes are equal when they hold the same data; marks take no part.
    public static func == (a: YAMLNode, b: YAMLNode) -> Bool { a.content == b.content }

    /// The entries of a mapping; nil for a scalar or a list.
    public var entries: [YAMLEntry]? {
        if case .mapping(let entries) = content { return entries }
        return nil
    }

    /// The value under `key` in a mapping.
    public subscript(key: String) -> YAMLNode? { entries?.first { $0.key == key }?.value }

    var isNull: Bool {
        if case .scalar(let scalar) = content { return scalar.kind == .null }
        return false
    }

    /// How an error names this node when it is not what was expected.
    var found: String {
        switch content {
        case .mapping(let entries): return entries.isEmpty ? "an empty mapping" : "a mapping"
        case .sequence(let items): return items.isEmpty ? "an empty list" : "a list"
        case .scalar(let scalar):
            if scalar.kind == .null { return scalar.text.isEmpty ? "an empty value" : scalar.text }
            if scalar.kind == .string && YAMLScalar.kind(ofPlain: scalar.text) != .string {
                return "the quoted string \"\(scalar.text)\""
            }
            return "\"\(scalar.text)\""
        }
    }

    /// The same data with every mark (keys included) replaced by `mark`.
    func withMark(_ mark: Mark) -> YAMLNode {
        switch content {
        case .scalar: return YAMLNode(content, mark: mark)
        case .sequence(let items): return YAMLNode(.sequence(items.map { $0.withMark(mark) }), mark: mark)
        case .mapping(let entries):
            return YAMLNode(.mapping(entries.map {
                YAMLEntry(key: $0.key, keyMark: mark, value: $0.value.withMark(mark))
            }), mark: mark)
        }
    }
}
