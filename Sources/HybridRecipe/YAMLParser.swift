import CYAML

/// Reads YAML into a `YAMLNode` tree with libyaml's event parser.
///
/// One document only. Anchors and aliases are supported (an alias copies the anchored node).
/// Every mapping key must be a scalar, and a key may appear once per mapping. Hostile input is
/// bounded before anything recurses over it or expands it: nesting deeper than `maxDepth`, and
/// a document that expands (aliases counted at their anchor's size) past `maxNodes`, are
/// refused where they cross the limit.
public enum YAMLParser {
    /// Collections inside collections; a recipe needs about five, and every walk of the tree
    /// downstream recurses once per level.
    public static let maxDepth = 64
    /// Nodes of the expanded document; the bundled recipes hold about a hundred.
    public static let maxNodes = 1_000_000

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

/// Turns the event stream into nodes: a stack of open collections, each filled in place, and
/// closed ones attached to their parent.
private struct TreeBuilder {
    private struct PendingKey {
        var key: String
        var mark: Mark
        var isDuplicate: Bool
    }

    /// An open sequence (`entries` unused) or mapping (`items` unused).
    private struct Frame {
        let isMapping: Bool
        let mark: Mark
        let anchor: String?
        var items: [YAMLNode] = []
        var entries: [YAMLEntry] = []
        /// Where each key so far was written: linear duplicate detection.
        var keyMarks: [String: Mark] = [:]
        var pendingKey: PendingKey? = nil
        /// Nodes this collection expands to so far, itself included.
        var size = 1
    }

    let file: String
    var root: YAMLNode?
    var errors: [RecipeError] = []
    private var stack: [Frame] = []
    /// Each anchored node with the number of nodes it expands to.
    private var anchors: [String: (node: YAMLNode, size: Int)] = [:]
    /// Nodes of the expanded document so far.
    private var total = 0
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
            if let anchor = data.anchor { anchors[String(cString: anchor)] = (node, 1) }
            return count(1, at: mark) && attach(node, size: 1)
        case YAML_ALIAS_EVENT:
            let name = String(cString: event.data.alias.anchor)
            guard let (node, size) = anchors[name] else {
                errors.append(RecipeError(at: mark, reason: "alias *\(name) names no anchor defined before it"))
                return false
            }
            return count(size, at: mark) && attach(node, size: size)
        case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
            guard stack.count < YAMLParser.maxDepth else {
                errors.append(RecipeError(at: mark, reason: "collections nest more than \(YAMLParser.maxDepth) deep here",
                                          expected: "at most \(YAMLParser.maxDepth) levels of nesting"))
                return false
            }
            guard count(1, at: mark) else { return false }
            let isMapping = event.type == YAML_MAPPING_START_EVENT
            let anchor = isMapping ? event.data.mapping_start.anchor : event.data.sequence_start.anchor
            stack.append(Frame(isMapping: isMapping, mark: mark, anchor: anchor.map { String(cString: $0) }))
            return true
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            let frame = stack.removeLast()
            let node = YAMLNode(frame.isMapping ? .mapping(frame.entries) : .sequence(frame.items), mark: frame.mark)
            if let anchor = frame.anchor { anchors[anchor] = (node, frame.size) }
            return attach(node, size: frame.size)
        default:
            return true
        }
    }

    /// Counts `size` more nodes of the expanded document, read at `mark`; false (after the
    /// error) past `maxNodes`: the bound that stops an alias bomb before anything walks it.
    private mutating func count(_ size: Int, at mark: Mark) -> Bool {
        total += size
        guard total > YAMLParser.maxNodes else { return true }
        errors.append(RecipeError(at: mark, reason: "the document expands to more than \(YAMLParser.maxNodes) nodes here (an alias counts as all of its anchor's nodes)",
                                  expected: "at most \(YAMLParser.maxNodes) nodes"))
        return false
    }

    /// Adds a finished node that expands to `size` nodes to the open collection, or makes it
    /// the document's root.
    private mutating func attach(_ node: YAMLNode, size: Int) -> Bool {
        guard let top = stack.indices.last else {
            root = node
            return true
        }
        stack[top].size += size
        guard stack[top].isMapping else {
            stack[top].items.append(node)
            return true
        }
        if let pending = stack[top].pendingKey {
            if !pending.isDuplicate {
                stack[top].entries.append(YAMLEntry(key: pending.key, keyMark: pending.mark, value: node))
                stack[top].keyMarks[pending.key] = pending.mark
            }
            stack[top].pendingKey = nil
            return true
        }
        guard case .scalar(let key) = node.content else {
            errors.append(RecipeError(at: node.mark, reason: "a mapping key must be a plain name",
                                      expected: "a scalar key", found: node.found))
            return false
        }
        let first = stack[top].keyMarks[key.text]
        if let first {
            errors.append(RecipeError(at: node.mark, keyPath: KeyPathText.child(openPath, key.text),
                                      reason: "duplicate key (first set at line \(first.line), column \(first.column))"))
        }
        stack[top].pendingKey = PendingKey(key: key.text, mark: node.mark, isDuplicate: first != nil)
        return true
    }

    /// The key path of the collection being filled, up to (not including) its pending key.
    private var openPath: String {
        stack.dropLast().reduce("") { path, frame in
            frame.isMapping ? KeyPathText.child(path, frame.pendingKey?.key ?? "") : KeyPathText.index(path, frame.items.count)
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
