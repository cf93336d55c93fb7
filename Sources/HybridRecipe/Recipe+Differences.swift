extension Recipe {
    /// Keys that only say how long a run goes and how often it reports, and `precision`,
    /// `optimizer.moments` (checkpoints hold fp32 either way, and older ones lack the keys) and
    /// `training.recompute` (the same arithmetic): a resumed run may change them.
    public static let runLengthKeys: Set<String> = [
        "precision", "optimizer.moments", "training.recompute", "training.steps", "training.eval_every", "training.log_every", "checkpoint.every", "checkpoint.keep", "checkpoint.resume",
    ]

    /// The key paths at which two resolved recipes (YAML as `yamlText()` writes it) differ,
    /// leaving out `ignoring`: `optimizer.lr`, `objectives[1].config.rate`, `objectives[2]`
    /// (present in one only).
    public static func differences(_ a: String, _ b: String, ignoring: Set<String> = runLengthKeys) throws -> [String] {
        let x = try YAMLParser.parse(a, file: "the saved recipe"), y = try YAMLParser.parse(b, file: "the recipe")
        var found: [String] = []
        func walk(_ x: YAMLNode?, _ y: YAMLNode?, _ path: String) {
            guard !ignoring.contains(path) else { return }
            switch (x?.content, y?.content) {
            case (.mapping(let p)?, .mapping(let q)?):
                var keys = p.map(\.key)
                for k in q.map(\.key) where !keys.contains(k) { keys.append(k) }
                for k in keys {
                    walk(p.first { $0.key == k }?.value, q.first { $0.key == k }?.value, path.isEmpty ? k : "\(path).\(k)")
                }
            case (.sequence(let p)?, .sequence(let q)?):
                for i in 0..<max(p.count, q.count) {
                    walk(i < p.count ? p[i] : nil, i < q.count ? q[i] : nil, "\(path)[\(i)]")
                }
            case (.scalar(let p)?, .scalar(let q)?):
                if p != q { found.append(path) }
            case (nil, nil):
                break
            default:
                found.append(path)
            }
        }
        walk(x, y, "")
        return found
    }
}
