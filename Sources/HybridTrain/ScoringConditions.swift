import HybridRecipe

/// What a conditional image model is asked to draw when it is scored (`eval`, `bench sample`),
/// and what the classifier must then read: a labelled model draws the classes in turn; a
/// captioned one draws the held-out images' captions in turn, and where the data has classes
/// (`data.label_column`) agreement checks each drawing against its caption's image's class.
public struct ScoringConditions: Sendable {
    /// Labels the sampler is given (a labelled model).
    public let requestLabels: [Int32]?
    /// Captions the sampler is given (a captioned model).
    public let captions: [String]?
    /// The class each drawing should read as; nil where nothing says (unconditional, or
    /// captions without classes).
    public let expected: [Int32]?

    /// `objective`: the drawing objective's recipe entry (its `classes` or `caption_length`
    /// config says how it is conditioned); `unconditional` draws without either.
    public init(objective: ObjectiveConfig, count: Int, validation: ImageSet, unconditional: Bool = false) {
        func int(_ key: String) -> Int {
            if case .scalar(let s)? = objective.config[key]?.content { return Int(s.text) ?? 0 }
            return 0
        }
        let classes = int("classes")
        if !unconditional, int("caption_length") > 0, let held = validation.captions, !held.isEmpty {
            requestLabels = nil
            captions = (0..<count).map { held[$0 % held.count] }
            expected = validation.classes.isEmpty ? nil : (0..<count).map { validation.labels[$0 % validation.count] }
        } else if !unconditional, classes > 0 {
            requestLabels = (0..<count).map { Int32($0 % classes) }
            captions = nil
            expected = requestLabels
        } else {
            (requestLabels, captions, expected) = (nil, nil, nil)
        }
    }

    /// A short description for reports: "labels 0-9", "the held-out captions" or "".
    public var description: String {
        if captions != nil { return "the held-out captions" }
        if let requestLabels { return "labels 0-\(requestLabels.max() ?? 0)" }
        return ""
    }

    /// Agreement per caption style — a caption's text after its first ", " ("serif, bold
    /// italic" of "g, serif, bold italic"), the part that does not name the class — in the
    /// order styles first appear; empty without captions or without a style in them.
    public func agreementByStyle(_ agreed: [Bool]) -> [(style: String, agreement: Double, count: Int)] {
        guard let captions else { return [] }
        var order: [String] = [], tallies: [String: (hits: Int, count: Int)] = [:]
        for (caption, hit) in zip(captions, agreed) {
            guard let comma = caption.range(of: ", ") else { continue }
            let style = String(caption[comma.upperBound...])
            let tally = tallies[style] ?? { order.append(style); return (0, 0) }()
            tallies[style] = (tally.hits + (hit ? 1 : 0), tally.count + 1)
        }
        return order.map { style in
            let tally = tallies[style]!
            return (style, Double(tally.hits) / Double(tally.count), tally.count)
        }
    }

    /// `agreementByStyle` as one report line's list, "serif, bold 93.5% (31), …"; nil where it is empty.
    public func styleSummary(_ agreed: [Bool]?) -> String? {
        let styles = agreed.map(agreementByStyle) ?? []
        guard !styles.isEmpty else { return nil }
        return styles.map { String(format: "%@ %.1f%% (%d)", $0.style, $0.agreement * 100, $0.count) }.joined(separator: ", ")
    }
}
