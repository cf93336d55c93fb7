/// Suggests the allowed name a mistyped one was probably meant to be.
enum DidYouMean {
    /// The closest of `candidates` within two edits (and fewer edits than `word` has letters),
    /// else the first candidate that `word` begins (three letters or more), else nil.
    static func suggestion(for word: String, among candidates: [String]) -> String? {
        let scored = candidates.map { (name: $0, distance: distance(word, $0)) }
        if let best = scored.filter({ $0.distance <= 2 && $0.distance < word.count })
            .min(by: { $0.distance < $1.distance }) {
            return best.name
        }
        guard word.count >= 3 else { return nil }
        return candidates.first { $0.hasPrefix(word) }
    }

    /// Optimal-string-alignment distance: insertions, deletions, substitutions and swaps of two
    /// neighbouring letters each cost one.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        // d[i][j]: distance between the first i letters of a and the first j letters of b.
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[a.count][b.count]
    }
}
