/// A command-line override, `key.path=value`, applied to the node tree before decoding so the
/// value is checked exactly like one written in the file.
///
/// The path is keys joined by `.` with `[i]` indexing lists: `training.steps`,
/// `objectives[0].weight`, `optimizer.betas[1]`. A key may also pick a list item by its
/// objective name: `objectives.causal.weight`. The value is read by libyaml as a YAML node,
/// so `optimizer.betas=[0.9,0.99]` sets a list. Missing mapping keys are created; an unknown
/// one is caught by decoding like any unknown key. As in Hydra, `+key.path=value` adds a value
/// that must not be there yet, and `~key.path` deletes one (its default applies again). Errors
/// in an override name it as `--set key.path` instead of a file position.
enum Override {
    enum Step: Equatable {
        case key(String)
        case index(Int)
    }

    /// Applies one override to `root`; returns what went wrong, if anything.
    static func apply(_ written: String, to root: inout YAMLNode) -> [RecipeError] {
        if written.hasPrefix("~") {
            let path = String(written.dropFirst())
            guard !path.contains("="), let steps = steps(path), !steps.isEmpty else {
                return [RecipeError(at: Mark(file: "--set \(written)"), reason: "cannot read this deletion",
                                    expected: "~key.path, like ~schedule.warmup_steps")]
            }
            if let error = delete(at: steps[...], in: &root, walked: "", mark: Mark(file: "--set \(written)")) { return [error] }
            return []
        }
        let adding = written.hasPrefix("+")
        let text = adding ? String(written.dropFirst()) : written
        if adding, let equals = text.firstIndex(of: "="), let steps = steps(String(text[..<equals])),
           let existing = lookup(steps[...], in: root) {
            return [RecipeError(at: Mark(file: "--set \(text[..<equals])"), keyPath: String(text[..<equals]),
                                reason: "+ adds a value, but this one is already set (at \(existing.mark)); use key.path=value to change it")]
        }
        guard let equals = text.firstIndex(of: "="),
              let steps = steps(String(text[..<equals])) else {
            return [RecipeError(at: Mark(file: "--set \(text)"), reason: "cannot read this override",
                                expected: "key.path=value, like training.steps=100 or objectives[0].weight=0.5")]
        }
        let path = String(text[..<equals])
        let mark = Mark(file: "--set \(path)")
        let value: YAMLNode
        do {
            value = try YAMLParser.parse(String(text[text.index(after: equals)...]), file: mark.file)?.withMark(mark)
                ?? YAMLNode(.scalar(YAMLScalar(text: "")), mark: mark)
        } catch {
            // libyaml's position is within the value; the override itself is the place to name.
            return error.errors.map { RecipeError(at: mark, keyPath: path, reason: $0.reason) }
        }
        if let error = set(value, at: steps[...], in: &root, walked: "", mark: mark) { return [error] }
        return []
    }

    /// `a.b[0].c` → key a, key b, index 0, key c; nil when malformed.
    static func steps(_ path: String) -> [Step]? {
        var steps: [Step] = []
        for part in path.split(separator: ".", omittingEmptySubsequences: false) {
            let nameEnd = part.firstIndex(of: "[") ?? part.endIndex
            guard nameEnd != part.startIndex else { return nil }
            steps.append(.key(String(part[..<nameEnd])))
            var rest = part[nameEnd...]
            while !rest.isEmpty {
                guard rest.first == "[", let close = rest.firstIndex(of: "]"),
                      let index = Int(rest[rest.index(after: rest.startIndex)..<close]), index >= 0 else { return nil }
                steps.append(.index(index))
                rest = rest[rest.index(after: close)...]
            }
        }
        return steps
    }

    /// Puts `value` at `steps` below `node`; `walked` is the key path of `node`.
    private static func set(_ value: YAMLNode, at steps: ArraySlice<Step>, in node: inout YAMLNode,
                            walked: String, mark: Mark) -> RecipeError? {
        guard let step = steps.first else {
            node = value
            return nil
        }
        let rest = steps.dropFirst()
        switch (step, node.content) {
        case (.key(let key), .mapping(var entries)):
            let path = KeyPathText.child(walked, key)
            if let index = entries.firstIndex(where: { $0.key == key }) {
                if let error = set(value, at: rest, in: &entries[index].value, walked: path, mark: mark) { return error }
            } else {
                if case .index = rest.first {
                    return RecipeError(at: mark, keyPath: path, reason: "there is no list here to index")
                }
                var child = YAMLNode(.mapping([]), mark: mark)
                if let error = set(value, at: rest, in: &child, walked: path, mark: mark) { return error }
                entries.append(YAMLEntry(key: key, keyMark: mark, value: child))
            }
            node.content = .mapping(entries)
        case (.key, .scalar) where node.isNull:
            // `schedule:` left empty in the file: fill it in as a mapping.
            node.content = .mapping([])
            return set(value, at: steps, in: &node, walked: walked, mark: mark)
        case (.key(let name), .sequence(var items)):
            let names = items.map(itemName)
            guard let index = names.firstIndex(of: name) else {
                return RecipeError(at: mark, keyPath: walked, reason: "no item is named `\(name)`",
                                   expected: "an index like [0]" + (names.isEmpty ? "" : " or one of "
                                       + names.compactMap { $0 }.joined(separator: ", ")),
                                   suggestion: DidYouMean.suggestion(for: name, among: names.compactMap { $0 }))
            }
            let path = KeyPathText.index(walked, index)
            if let error = set(value, at: rest, in: &items[index], walked: path, mark: mark) { return error }
            node.content = .sequence(items)
        case (.index(let index), .sequence(var items)):
            let path = KeyPathText.index(walked, index)
            guard items.indices.contains(index) else {
                return RecipeError(at: mark, keyPath: path, reason: "index out of range",
                                   expected: items.isEmpty ? "an existing item, but the list is empty"
                                       : "an index from 0 to \(items.count - 1)")
            }
            if let error = set(value, at: rest, in: &items[index], walked: path, mark: mark) { return error }
            node.content = .sequence(items)
        case (.key(let key), _):
            return RecipeError(at: mark, keyPath: walked, reason: "cannot set `\(key)` inside this value",
                               expected: "a mapping", found: node.found)
        case (.index(let index), _):
            return RecipeError(at: mark, keyPath: walked, reason: "cannot take item [\(index)] of this value",
                               expected: "a list", found: node.found)
        }
        return nil
    }

    /// The node at `steps` below `node`, if there is one.
    private static func lookup(_ steps: ArraySlice<Step>, in node: YAMLNode) -> YAMLNode? {
        guard let step = steps.first else { return node }
        switch (step, node.content) {
        case (.key(let key), .mapping(let entries)):
            return entries.first { $0.key == key }.flatMap { lookup(steps.dropFirst(), in: $0.value) }
        case (.key(let name), .sequence(let items)):
            return items.first { itemName($0) == name }.flatMap { lookup(steps.dropFirst(), in: $0) }
        case (.index(let i), .sequence(let items)) where items.indices.contains(i):
            return lookup(steps.dropFirst(), in: items[i])
        default:
            return nil
        }
    }

    /// Removes the value at `steps` below `node` (a mapping entry or a list item).
    private static func delete(at steps: ArraySlice<Step>, in node: inout YAMLNode, walked: String, mark: Mark) -> RecipeError? {
        guard let step = steps.first else { return nil }
        let last = steps.count == 1
        switch (step, node.content) {
        case (.key(let key), .mapping(var entries)):
            let path = KeyPathText.child(walked, key)
            guard let i = entries.firstIndex(where: { $0.key == key }) else {
                return RecipeError(at: mark, keyPath: path, reason: "nothing to delete: the recipe does not set it")
            }
            if last { entries.remove(at: i) } else if let error = delete(at: steps.dropFirst(), in: &entries[i].value, walked: path, mark: mark) {
                return error
            }
            node.content = .mapping(entries)
        case (.key(let name), .sequence(var items)):
            guard let i = items.firstIndex(where: { itemName($0) == name }) else {
                return RecipeError(at: mark, keyPath: walked, reason: "nothing to delete: no item is named `\(name)`")
            }
            if last { items.remove(at: i) } else if let error = delete(at: steps.dropFirst(), in: &items[i], walked: KeyPathText.index(walked, i), mark: mark) {
                return error
            }
            node.content = .sequence(items)
        case (.index(let i), .sequence(var items)):
            guard items.indices.contains(i) else {
                return RecipeError(at: mark, keyPath: KeyPathText.index(walked, i), reason: "nothing to delete: index out of range")
            }
            if last { items.remove(at: i) } else if let error = delete(at: steps.dropFirst(), in: &items[i], walked: KeyPathText.index(walked, i), mark: mark) {
                return error
            }
            node.content = .sequence(items)
        default:
            return RecipeError(at: mark, keyPath: walked, reason: "nothing to delete here", found: node.found)
        }
        return nil
    }

    /// The name an objective-like list item answers to: its `name`, else its plugin's default name.
    private static func itemName(_ item: YAMLNode) -> String? {
        let scalar = { (key: String) -> String? in
            if case .scalar(let scalar)? = item[key]?.content { return scalar.text }
            return nil
        }
        return scalar("name") ?? scalar("plugin").map(ObjectiveConfig.defaultName)
    }
}
