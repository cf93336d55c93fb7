import CYAML

/// Reads YAML into a `YAMLNode` tree with libyaml's event parser.
///
/// One document only. Anchors and aliases are supported (an alias copies the anchored node).
/// Every mapping key must be a scalar, and a key may appear once per mapping.
public enum YAMLParser {
    /// Parses `text`; `file` names it in marks and errors. Returns nil when the text holds no
    /// document at all (empty, or only comments).
    public static func parse(_ text: String, file: String) throws(RecipeErrors) -> YAMLNode? {
        try parse(bytes: Array(text.utf8), file: file)
    }

    /// Parses raw bytes (libyaml detects UTF-8 or UTF-16 from the byte order mark).
    /// Throws libyaml's syntax error with its line and column, or every duplicate key found.
    public static func parse(bytes: [UInt8], file: String) throws(RecipeErrors) -> YAMLNode? {
        var builder = TreeBuilder(file: file)
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            throw RecipeErrors([RecipeError(at: Mark(file: file), reason: "libyaml could not start a parser")])
        }
        defer { yaml_parser_delete(&parser) }
        bytes.withUnsafeBufferPointer { buffer in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            events: while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else {
                    builder.errors.append(syntaxError(parser, file: file))
                    break events
                }
                defer { yaml_event_delete(&event) }
                guard builder.handle(event) else { break events }
            }
        }
        if !builder.errors.isEmpty { throw RecipeErrors(builder.errors) }
        return builder.root
    }

    /// libyaml's own words, at libyaml's position, with its context when it gives one.
    private static func syntaxError(_ parser: yaml_parser_t, file: String) -> RecipeError {
        let problem = parser.problem.map { String(cString: $0) } ?? "unknown error"
        if parser.error == YAML_MEMORY_ERROR {
            return RecipeError(at: Mark(file: file), reason: "libyaml ran out of memory")
        }
        if parser.error == YAML_READER_ERROR {
            // Reader errors (bad encoding) carry a byte offset, not a line.
            return RecipeError(at: Mark(file: file),
                               reason: "invalid YAML: \(problem) at byte \(parser.problem_offset)")
        }
        var reason = "invalid YAML: \(problem)"
        if let context = parser.context {
            reason += " (\(String(cString: context)) at line \(parser.context_mark.line + 1),"
                + " column \(parser.context_mark.column + 1))"
        }
        return RecipeError(at: mark(parser.problem_mark, file: file), reason: reason)
    }

    fileprivate static func mark(_ mark: yaml_mark_t, file: String) -> Mark {
        Mark(file: file, line: Int(mark.line) + 1, column: Int(mark.column) + 1)
    }
}

/// Turns the event stream into nodes: a stack of open collections, closed ones attached to
/// their parent.
private struct TreeBuilder {
    private struct PendingKey {
        var key: String
        var mark: Mark
        var isDuplicate: Bool
    }

    private enum Frame {
        case sequence(items: [YAMLNode], mark: Mark, anchor: String?)
        case mapping(entries: [YAMLEntry], mark: Mark, anchor: String?, pendingKey: PendingKey?)
    }

    let file: String
    var root: YAMLNode?
    var errors: [RecipeError] = []
    private var stack: [Frame] = []
    private var anchors: [String: YAMLNode] = [:]
    private var documents = 0

    init(file: String) { self.file = file }

    /// Handles one event; false ends the parse (at the end of the stream, or after an error
    /// that leaves no sensible tree).
    mutating func handle(_ event: yaml_event_t) -> Bool {
        let mark = YAMLParser.mark(event.start_mark, file: file)
        switch event.type {
        case YAML_STREAM_END_EVENT:
            return false
        case YAML_DOCUMENT_START_EVENT:
            documents += 1
            if documents > 1 {
                errors.append(RecipeError(at: mark, reason: "a second YAML document begins here",
                                          expected: "a single document"))
                return false
            }
            return true
        case YAML_SCALAR_EVENT:
            let data = event.data.scalar
            let text = String(decoding: UnsafeBufferPointer(start: data.value, count: data.length), as: UTF8.self)
            let scalar = YAMLScalar(text: text, style: Self.style(data.style), tag: data.tag.map { String(cString: $0) })
            let node = YAMLNode(.scalar(scalar), mark: mark)
            if let anchor = data.anchor { anchors[String(cString: anchor)] = node }
            return attach(node)
        case YAML_ALIAS_EVENT:
            let name = String(cString: event.data.alias.anchor)
            guard let node = anchors[name] else {
                errors.append(RecipeError(at: mark, reason: "alias *\(name) names no anchor defined before it"))
                return false
            }
            return attach(node)
        case YAML_SEQUENCE_START_EVENT:
            stack.append(.sequence(items: [], mark: mark, anchor: event.data.sequence_start.anchor.map { String(cString: $0) }))
            return true
        case YAML_MAPPING_START_EVENT:
            stack.append(.mapping(entries: [], mark: mark, anchor: event.data.mapping_start.anchor.map { String(cString: $0) },
                                  pendingKey: nil))
            return true
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            let node: YAMLNode
            let anchor: String?
            switch stack.removeLast() {
            case .sequence(let items, let mark, let name):
                node = YAMLNode(.sequence(items), mark: mark)
                anchor = name
            case .mapping(let entries, let mark, let name, _):
                node = YAMLNode(.mapping(entries), mark: mark)
                anchor = name
            }
            if let anchor { anchors[anchor] = node }
            return attach(node)
        default:
            return true
        }
    }

    /// Adds a finished node to the open collection, or makes it the document's root.
    private mutating func attach(_ node: YAMLNode) -> Bool {
        guard let top = stack.popLast() else {
            root = node
            return true
        }
        switch top {
        case .sequence(var items, let mark, let anchor):
            items.append(node)
            stack.append(.sequence(items: items, mark: mark, anchor: anchor))
        case .mapping(var entries, let mark, let anchor, let pending?):
            if !pending.isDuplicate {
                entries.append(YAMLEntry(key: pending.key, keyMark: pending.mark, value: node))
            }
            stack.append(.mapping(entries: entries, mark: mark, anchor: anchor, pendingKey: nil))
        case .mapping(let entries, let mark, let anchor, nil):
            guard case .scalar(let key) = node.content else {
                errors.append(RecipeError(at: node.mark, reason: "a mapping key must be a plain name",
                                          expected: "a scalar key", found: node.found))
                return false
            }
            var isDuplicate = false
            if let first = entries.first(where: { $0.key == key.text }) {
                isDuplicate = true
                errors.append(RecipeError(at: node.mark, keyPath: KeyPathText.child(openPath, key.text),
                                          reason: "duplicate key (first set at line \(first.keyMark.line), column \(first.keyMark.column))"))
            }
            let pending = PendingKey(key: key.text, mark: node.mark, isDuplicate: isDuplicate)
            stack.append(.mapping(entries: entries, mark: mark, anchor: anchor, pendingKey: pending))
        }
        return true
    }

    /// The key path of the collection being filled (its frame is popped while a node attaches).
    private var openPath: String {
        stack.reduce("") { path, frame in
            switch frame {
            case .sequence(let items, _, _): KeyPathText.index(path, items.count)
            case .mapping(_, _, _, let pending): KeyPathText.child(path, pending?.key ?? "")
            }
        }
    }

    private static func style(_ style: yaml_scalar_style_t) -> YAMLScalar.Style {
        switch style {
        case YAML_SINGLE_QUOTED_SCALAR_STYLE: .singleQuoted
        case YAML_DOUBLE_QUOTED_SCALAR_STYLE: .doubleQuoted
        case YAML_LITERAL_SCALAR_STYLE: .literal
        case YAML_FOLDED_SCALAR_STYLE: .folded
        default: .plain
        }
    }
}
