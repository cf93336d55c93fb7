import ArgumentParser

@main
struct Hybrid: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hybrid",
        abstract: "Train one transformer backbone with several objectives, each a dlopen'd plugin.",
        subcommands: [Train.self, Distill.self, RecipeCommand.self, Sample.self, Eval.self, Export.self, Plot.self, Plugins.self, Bench.self])
}
import ArgumentParser
import HybridRecipe

extension Recipe.Device: ExpressibleByArgument {}
