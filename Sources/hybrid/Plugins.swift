import ArgumentParser
import Foundation
import HybridPlugins
import HybridRecipe
import HybridTrain

struct Plugins: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List every objective plugin on the search path, in search order: loaded, or why refused.")

    @Option(help: "Also search the plugin_paths of this recipe, first.")
    var recipe: String?

    func run() throws {
        try reportingFailures {
            let path: PluginSearchPath
            if let recipe {
                path = RunSetup.searchPath(for: try Recipe.load(path: recipe))
            } else {
                path = .standard()
            }
            say("search path:")
            for entry in path.entries { say("  \(entry.folder)  (\(entry.origin.label))") }
            let listings = PluginCatalog.scan(path)
            say(listings.isEmpty ? "no plugins found" : "\(listings.count) plugin file(s):")
            for listing in listings { say(listing.description) }
        }
    }
}
