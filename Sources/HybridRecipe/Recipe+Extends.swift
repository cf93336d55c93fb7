import Foundation

/// `extends: base.yaml` (or a list of bases, merged in order): the recipe is its bases deep-
/// merged with its own text on top — mappings merge key by key, lists and scalars are
/// replaced whole. Base paths are relative to the file that names them; every node keeps the
/// mark of the file and line it was written at, so an error in a value that came from a base
/// still points there. A cycle, a chain deeper than `maxDepth`, or a base that cannot be read,
/// is an error at the `extends` entry that names it.
enum Extends {
    /// Recipes in one chain of bases, the recipe itself included.
    static let maxDepth = 16

    /// `root` with its `extends` resolved. `file` is the path `root` was read from; `chain`
    /// the absolute paths being resolved above it (for cycles).
    static func resolve(_ root: YAMLNode, file: String, chain: [String] = []) throws(RecipeErrors) -> YAMLNode {
        let here = URL(fileURLWithPath: file).standardizedFileURL.path
        guard let entries = root.entries, let entry = entries.first(where: { $0.key == "extends" }) else { return root }
        var bases: [YAMLNode] = []
        switch entry.value.content {
        case .scalar: bases = [entry.value]
        case .sequence(let items): bases = items
        case .mapping:
            throw RecipeErrors([RecipeError(at: entry.value.mark, keyPath: "extends", reason: "cannot read this value",
                                            expected: "a recipe file, or a list of them", found: entry.value.found)])
        }
        var merged: YAMLNode?
        for base in bases {
            guard case .scalar(let scalar) = base.content, scalar.kind == .string || scalar.kind == .int, !scalar.text.isEmpty else {
                throw RecipeErrors([RecipeError(at: base.mark, keyPath: "extends", reason: "cannot read this value",
                                                expected: "a recipe file path", found: base.found)])
            }
            let path = scalar.text.hasPrefix("/") ? scalar.text
                : URL(fileURLWithPath: here).deletingLastPathComponent().appendingPathComponent(scalar.text).standardizedFileURL.path
            guard !(chain + [here]).contains(path) else {
                let cycle = (chain + [here, path]).map { ($0 as NSString).lastPathComponent }.joined(separator: " → ")
                throw RecipeErrors([RecipeError(at: base.mark, keyPath: "extends", reason: "recipes extend each other in a cycle: \(cycle)")])
            }
            guard chain.count + 2 <= maxDepth else {
                throw RecipeErrors([RecipeError(at: base.mark, keyPath: "extends", reason: "this base would make a chain of \(chain.count + 2) recipes",
                                                expected: "at most \(maxDepth) recipes in one chain of extends")])
            }
            guard let bytes = FileManager.default.contents(atPath: path) else {
                throw RecipeErrors([RecipeError(at: base.mark, keyPath: "extends", reason: "the base recipe \(path) cannot be read",
                                                expected: "an existing recipe file, relative to \((here as NSString).deletingLastPathComponent)")])
            }
            guard let parsed = try YAMLParser.parse(bytes: [UInt8](bytes), file: path), parsed.entries != nil else {
                throw RecipeErrors([RecipeError(at: base.mark, keyPath: "extends", reason: "the base recipe \(path) is not a mapping")])
            }
            let resolved = try resolve(parsed, file: path, chain: chain + [here])
            merged = merged.map { merge($0, resolved) } ?? resolved
        }
        let own = YAMLNode(.mapping(entries.filter { $0.key != "extends" }), mark: root.mark)
        return merged.map { merge($0, own) } ?? own
    }

    /// `top` over `base`: mappings merge key by key (keys keep base order, new ones follow);
    /// anything else in `top` replaces what `base` had.
    static func merge(_ base: YAMLNode, _ top: YAMLNode) -> YAMLNode {
        guard case .mapping(var entries) = base.content, case .mapping(let over) = top.content else { return top }
        var index = Dictionary(entries.enumerated().map { ($1.key, $0) }, uniquingKeysWith: { first, _ in first })
        for entry in over {
            if let i = index[entry.key] {
                entries[i] = YAMLEntry(key: entry.key, keyMark: entry.keyMark, value: merge(entries[i].value, entry.value))
            } else {
                index[entry.key] = entries.count
                entries.append(entry)
            }
        }
        return YAMLNode(.mapping(entries), mark: top.mark)
    }
}
