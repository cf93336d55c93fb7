import Foundation
import HybridRecipe
import HybridTestSupport
import Testing

/// A seeded fuzz of recipes: the full example recipe with bytes flipped, values swapped for
/// edge cases and YAML syntax, lines dropped, doubled, swapped or re-indented, and the file
/// cut short. Every mutation is either refused with recipe errors (exit 65, each with its
/// place) or loads, and what loads writes back to YAML that loads to the same recipe; none
/// traps or hangs. Bounded: 3,000 mutations.
@Suite struct MutatedRecipeTests {
    static let edgeValues = ["-1", "0", "1e308", "-1e308", "9223372036854775807", "9223372036854775808",
                             "-9223372036854775809", "0x7fffffff", ".nan", ".inf", "-.inf", "~", "null", "[]", "{}",
                             "\"\"", "''", "*nowhere", "&anchor", "!!binary AAAA", "!custom x", "'", "\"", "{", "[",
                             "]", "}", ":", "- ", "? ", "|", ">", "%YAML 1.2", "---", "...", "#", "\t", "\u{0}",
                             "\u{FEFF}", "é", "[[[[[[[[", "{a: {b: {c: 1}}}", "a: b: c", "true", "yes", "1.5", "1_000"]

    @Test func mutatedRecipesAreRefusedOrLoadNeverTrapped() throws {
        let scratch = Scratch()
        let base = Array(RecipeDecodingTests.fullRecipe.utf8)
        var rng = SeededRNG(seed: 20_261_205)
        var refused = 0, loaded = 0
        for round in 0..<3_000 {
            let bytes = Self.mutate(base, &rng)
            let path = scratch.folder + "/r.yaml"
            #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
            do {
                let recipe = try Recipe.load(path: path)
                loaded += 1
                let text = recipe.yamlText()
                let again = try Recipe.load(path: scratch.write("resolved.yaml", text))
                #expect(again == recipe, "round \(round): \(String(decoding: bytes, as: UTF8.self))")
            } catch {
                refused += 1
                #expect(!error.errors.isEmpty && error.errors.allSatisfy { !$0.description.isEmpty },
                        "round \(round): a refusal without an error")
            }
        }
        // The fuzz reaches both sides: valid mutations and refused ones.
        #expect(refused > 500 && loaded > 100, "\(refused) refused, \(loaded) loaded")
    }

    static func mutate(_ base: [UInt8], _ rng: inout SeededRNG) -> [UInt8] {
        var lines = base.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map(Array.init)
        func pick(_ n: Int) -> Int { Int(rng.next() % UInt64(max(n, 1))) }
        for _ in 0...pick(3) {
            let i = pick(lines.count)
            switch pick(7) {
            case 0:  // flip a byte
                if !lines[i].isEmpty { lines[i][pick(lines[i].count)] = UInt8(truncatingIfNeeded: rng.next()) }
            case 1:  // the value after a colon becomes an edge value
                if let colon = lines[i].firstIndex(of: UInt8(ascii: ":")) {
                    lines[i] = Array(lines[i][...colon]) + Array((" " + edgeValues[pick(edgeValues.count)]).utf8)
                }
            case 2: lines.remove(at: i); if lines.isEmpty { lines = [[]] }
            case 3: lines.insert(lines[i], at: i)
            case 4: lines.swapAt(i, pick(lines.count))
            case 5: lines[i] = Array(String(repeating: " ", count: pick(9)).utf8) + lines[i].drop { $0 == UInt8(ascii: " ") }
            default:  // an edge value on a line of its own
                lines.insert(Array(edgeValues[pick(edgeValues.count)].utf8), at: i)
            }
        }
        var bytes = Array(lines.joined(separator: [UInt8(ascii: "\n")]))
        if pick(10) == 0 { bytes = Array(bytes.prefix(pick(bytes.count))) }
        return bytes
    }
}
