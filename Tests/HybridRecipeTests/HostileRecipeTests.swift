import HybridRecipe
import Testing

/// Recipes built to exhaust the stack, memory or time: each is refused with its limit and the
/// place, quickly, and nothing valid is refused.
@Suite struct HostileRecipeTests {
    /// `depth` nested flow lists under `deep:`.
    static func nested(_ depth: Int) -> String {
        "deep: " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "\n"
    }

    @Test func nestingIsBoundedInAFileAndInASetValue() {
        let scratch = Scratch()
        // The root mapping is one level: 63 lists inside it still parse (and `deep` is unknown).
        let atLimit = scratch.message(minimalRecipe + Self.nested(YAMLParser.maxDepth - 1))
        #expect(atLimit.contains("deep: unknown key"), "\(atLimit)")
        for depth in [YAMLParser.maxDepth, 200_000] {
            let refused = scratch.message(Self.nested(depth) + minimalRecipe)
            #expect(refused == "r.yaml:1:\(6 + YAMLParser.maxDepth): collections nest more than 64 deep here; expected at most 64 levels of nesting",
                    "\(refused)")
        }
        let set = scratch.message(minimalRecipe, overrides: ["training.steps=" + String(repeating: "{a: ", count: 10_000) + "1" + String(repeating: "}", count: 10_000)])
        #expect(set.hasPrefix("--set training.steps") && set.contains("nest more than 64 deep"), "\(set)")
    }

    /// Nine levels of ten aliases each would expand to 10⁹ nodes.
    static let aliasBomb = (1...9).reduce("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n") { text, level in
        text + "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]\n"
    }

    @Test func anAliasBombIsRefusedWhereItCrossesTheLimitEvenThroughExtends() {
        let scratch = Scratch()
        let direct = scratch.message(minimalRecipe + Self.aliasBomb)
        // a0…a4 hold 123,465 nodes and a5 would hold 1,111,111: its eighth alias crosses the million.
        #expect(direct.hasPrefix("r.yaml:18:") && direct.contains("expands to more than 1000000 nodes here")
                    && direct.contains("expected at most 1000000 nodes"), "\(direct)")
        scratch.write("bomb.yaml", Self.aliasBomb)
        let based = scratch.message("extends: bomb.yaml\n" + minimalRecipe)
        #expect(based.hasPrefix("bomb.yaml:6:") && based.contains("expands to more than"), "\(based)")
    }

    @Test func extendsChainsAreBounded() throws {
        let scratch = Scratch()
        // base0 ← base1 ← … : r.yaml extending base(n-1) makes a chain of n + 1 recipes.
        scratch.write("base0.yaml", minimalRecipe)
        for i in 1..<20 { scratch.write("base\(i).yaml", "extends: base\(i - 1).yaml\n") }
        let longest = try scratch.load("extends: base14.yaml\n")
        #expect(longest.model.dModel == 64)
        let refused = scratch.message("extends: base15.yaml\n")
        #expect(refused.hasPrefix("base1.yaml:1:10: extends: ") && refused.contains("would make a chain of 17 recipes; expected at most 16 recipes in one chain of extends"),
                "\(refused)")
    }

    @Test func thirtyThousandKeysAreEachReportedAndTheMessageStaysAScreenful() {
        let scratch = Scratch()
        let keys = (0..<30_000).map { "k\($0): \($0)\n" }.joined()
        let errors = scratch.errors(minimalRecipe + keys)
        #expect(errors.count == 30_000 && errors.allSatisfy { $0.reason == "unknown key" })
        let lines = RecipeErrors(errors).lines
        #expect(lines.count == RecipeErrors.shown + 1 && lines.last == "… and \(30_000 - RecipeErrors.shown) more errors", "\(lines.suffix(2))")
        // Duplicates among many keys are still found, at their second place.
        let twice = scratch.errors(minimalRecipe + keys + "k7: 8\n")
        #expect(twice.map(\.description) == ["\(scratch.folder)/r.yaml:30013:1: k7: duplicate key (first set at line 20, column 1)"], "\(twice.prefix(2))")
    }
}
