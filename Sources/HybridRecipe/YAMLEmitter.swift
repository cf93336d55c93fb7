/// Writes a node tree as block-style YAML that libyaml reads back to an equal tree.
///
/// A scalar is written plain when plain text means the same thing (a string that would read
/// as a number, or that holds YAML punctuation, is double-quoted); empty collections are `{}`
/// and `[]`.
enum YAMLEmitter {
    static func text(_ node: YAMLNode) -> String {
        var out = ""
        switch node.content {
        case .scalar(let scalar): out = scalarText(scalar) + "\n"
        case .mapping(let entries) where !entries.isEmpty: writeEntries(entries, indent: 0, into: &out)
        case .sequence(let items) where !items.isEmpty: writeItems(items, indent: 0, into: &out)
        default: out = inlineEmpty(node) + "\n"
        }
        return out
    }

    private static func writeEntries(_ entries: [YAMLEntry], indent: Int, into out: inout String) {
        let pad = String(repeating: " ", count: indent)
        for entry in entries {
            out += pad + plainOrQuoted(entry.key) + ":"
            switch entry.value.content {
            case .scalar(let scalar): out += " " + scalarText(scalar) + "\n"
            case .mapping(let entries) where !entries.isEmpty:
                out += "\n"
                writeEntries(entries, indent: indent + 2, into: &out)
            case .sequence(let items) where !items.isEmpty:
                out += "\n"
                writeItems(items, indent: indent + 2, into: &out)
            default: out += " " + inlineEmpty(entry.value) + "\n"
            }
        }
    }

    private static func writeItems(_ items: [YAMLNode], indent: Int, into out: inout String) {
        let pad = String(repeating: " ", count: indent)
        for item in items {
            // A nested collection starts on the dash's line: write it two columns in, then
            // put the dash over the first two spaces.
            var nested = ""
            switch item.content {
            case .scalar(let scalar):
                out += pad + "- " + scalarText(scalar) + "\n"
                continue
            case .mapping(let entries) where !entries.isEmpty: writeEntries(entries, indent: indent + 2, into: &nested)
            case .sequence(let items) where !items.isEmpty: writeItems(items, indent: indent + 2, into: &nested)
            default:
                out += pad + "- " + inlineEmpty(item) + "\n"
                continue
            }
            out += pad + "- " + nested.dropFirst(indent + 2)
        }
    }

    private static func inlineEmpty(_ node: YAMLNode) -> String {
        if case .sequence = node.content { return "[]" }
        return "{}"
    }

    static func scalarText(_ scalar: YAMLScalar) -> String {
        switch scalar.kind {
        case .null: return "null"
        // Plain text that resolved to a bool or number is plain-safe as it stands.
        case .bool, .int, .float: return scalar.text
        case .string: return plainOrQuoted(scalar.text)
        }
    }

    /// `text` as a plain scalar when that reads back as the same string, else double-quoted.
    static func plainOrQuoted(_ text: String) -> String {
        isPlainSafe(text) && YAMLScalar.kind(ofPlain: text) == .string ? text : doubleQuoted(text)
    }

    private static func isPlainSafe(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, let last = text.unicodeScalars.last else { return false }
        if "-?:,[]{}#&*!|>'\"%@`".unicodeScalars.contains(first) || first == " " || last == " " || last == ":" {
            return false
        }
        if text.contains(": ") || text.contains(" #") || text.hasPrefix("...") { return false }
        return !text.unicodeScalars.contains(where: needsEscape)
    }

    /// Controls, and the characters YAML reads as line breaks or a byte order mark.
    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || scalar.value == 0x7F || [0x85, 0x2028, 0x2029, 0xFEFF].contains(scalar.value)
    }

    private static func doubleQuoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case _ where needsEscape(scalar):
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
