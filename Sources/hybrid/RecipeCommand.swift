import ArgumentParser
import Foundation
import HybridRecipe
import HybridRun
import HybridTrain

struct RecipeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recipe", abstract: "Work with recipes.", subcommands: [Check.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the resolved recipe (every default filled in), or every error in it.")

        @Argument(help: "The recipe (YAML).")
        var recipe: String

        @Option(name: .customLong("set"), help: ArgumentHelp("Override a recipe value.", valueName: "key.path=value"))
        var overrides: [String] = []

        @Flag(help: "Print each resolved value with where it came from: file:line:column, --set, or default.")
        var explain = false

        func run() throws {
            try reportingFailures {
                let loaded = try Recipe.load(path: recipe, overrides: overrides)
                if explain {
                    _ = try RunSetup.instances(for: loaded, file: recipe)
                    for line in try Recipe.explain(path: recipe, overrides: overrides) { say(line) }
                    return
                }
                // Plugins are part of the check: each must load, and its config section
                // must fit the keys it declares.
                let budget = try Run.check(loaded, file: recipe)
                let (limit, source) = try MemoryBudget.limit()
                FileHandle.standardOutput.write(Data(loaded.yamlText().utf8))
                say("# memory: \(budget.summary); the limit is \(MemoryBudget.size(limit)) (\(source))")
            }
        }
    }
}
