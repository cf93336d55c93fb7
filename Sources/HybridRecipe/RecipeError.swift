import Foundation

/// One thing wrong with a recipe, with the culprit: where it is, which key, what was expected
/// and what was found. Reads like
/// `recipes/x.yaml:4:12: model.d_model: expected a positive integer, found "-3"`.
public struct RecipeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The recipe file, or `--set key.path` for a command-line override.
    public var file: String
    /// 1-based; 0 when the error concerns a whole file or an override.
    public var line: Int
    public var column: Int
    /// Like `model.d_model` or `objectives[0].weight`; empty for the document itself.
    public var keyPath: String
    /// What went wrong, when "expected … found …" does not say it alone.
    public var reason: String?
    public var expected: String?
    public var found: String?
    /// The name the author probably meant.
    public var suggestion: String?

    public init(at mark: Mark, keyPath: String = "", reason: String? = nil, expected: String? = nil,
                found: String? = nil, suggestion: String? = nil) {
        file = mark.file
        line = mark.line
        column = mark.column
        self.keyPath = keyPath
        self.reason = reason
        self.expected = expected
        self.found = found
        self.suggestion = suggestion
    }

    public var mark: Mark { Mark(file: file, line: line, column: column) }

    public var description: String {
        let location = mark.description
        var text = location + ": "
        // `--set training.steps: training.steps: …` would say the path twice.
        if !keyPath.isEmpty && location != "--set \(keyPath)" { text += keyPath + ": " }
        var parts: [String] = []
        if let reason { parts.append(reason) }
        if let expected {
            parts.append("expected \(expected)" + (found.map { ", found \($0)" } ?? ""))
        } else if let found {
            parts.append("found \(found)")
        }
        if let suggestion { parts.append("did you mean `\(suggestion)`?") }
        return text + parts.joined(separator: "; ")
    }
}

/// Every error found in one recipe: decoding collects them all rather than stopping at the first.
public struct RecipeErrors: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    public var errors: [RecipeError]

    public init(_ errors: [RecipeError]) { self.errors = errors }

    /// Errors shown before the rest are counted: a file of a million unknown keys gets a
    /// screenful, not a million lines.
    public static let shown = 50

    /// The first `shown` errors, one line each, then how many more there are.
    public var lines: [String] {
        let shown = errors.prefix(Self.shown).map(\.description)
        return shown + (errors.count > shown.count ? ["… and \(errors.count - shown.count) more errors"] : [])
    }

    public var description: String { lines.joined(separator: "\n") }
    public var errorDescription: String? { description }
}

/// Builds the key paths errors name.
enum KeyPathText {
    static func child(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
    static func index(_ path: String, _ index: Int) -> String { "\(path)[\(index)]" }
}
