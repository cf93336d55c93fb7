import Foundation
import HybridRecipe
import Testing

/// A fresh folder holding a small corpus (`corpus/a.txt`, `corpus/b.txt`, `extra.txt`),
/// removed when the test lets go of it.
final class Scratch {
    let folder: String

    init() {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("hybrid-recipe-\(UUID().uuidString)")
            .standardizedFileURL.path
        write("corpus/a.txt", "alpha\n")
        write("corpus/b.txt", "beta\n")
        write("extra.txt", "gamma\n")
    }

    deinit { try? FileManager.default.removeItem(atPath: folder) }

    /// Writes `text` at `name` inside the folder and returns the file's path.
    @discardableResult
    func write(_ name: String, _ text: String) -> String {
        let path = folder + "/" + name
        let parent = (path as NSString).deletingLastPathComponent
        #expect((try? FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)) != nil)
        #expect(FileManager.default.createFile(atPath: path, contents: Data(text.utf8)), "cannot write \(path)")
        return path
    }

    /// Writes the recipe as `r.yaml` and loads it.
    func load(_ yaml: String, overrides: [String] = []) throws(RecipeErrors) -> Recipe {
        try Recipe.load(path: write("r.yaml", yaml), overrides: overrides)
    }

    /// The errors loading the recipe reports; records an issue when it loads.
    func errors(_ yaml: String, overrides: [String] = [], sourceLocation: SourceLocation = #_sourceLocation)
        -> [RecipeError] {
        do {
            _ = try load(yaml, overrides: overrides)
            Issue.record("the recipe loaded, but errors were expected", sourceLocation: sourceLocation)
            return []
        } catch {
            return error.errors
        }
    }

    /// The one message loading the recipe reports, with the folder shortened to `r.yaml`'s name.
    func message(_ yaml: String, overrides: [String] = [], sourceLocation: SourceLocation = #_sourceLocation)
        -> String {
        let errors = errors(yaml, overrides: overrides, sourceLocation: sourceLocation)
        #expect(errors.count == 1, "expected one error, got \(errors)", sourceLocation: sourceLocation)
        return errors.map(\.description).joined(separator: "\n").replacingOccurrences(of: folder + "/", with: "")
    }
}

/// The smallest valid recipe; line numbers below are what the tests count on.
let minimalRecipe = """
    model:
      d_model: 64
      layers: 2
      heads: 4
      seq_len: 32
    data:
      text: [corpus/*.txt]
    objectives:
      - plugin: causal
    training:
      steps: 10
      batch_size: 4

    """

/// `minimalRecipe` with one line replaced.
func minimalRecipe(replacing old: String, with new: String) -> String {
    precondition(minimalRecipe.contains(old), "no line \(old)")
    return minimalRecipe.replacingOccurrences(of: old, with: new)
}
