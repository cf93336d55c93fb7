import Foundation
import HybridPlugins
import Testing

@Suite("Finding plugins")
struct PluginSearchPathTests {
    @Test("the standard path: recipe folders, HYBRID_PLUGIN_PATH, the executable's folder, the system folder")
    func standardOrder() {
        let path = PluginSearchPath.standard(
            recipeFolders: ["/recipe/plugins"],
            environment: ["HYBRID_PLUGIN_PATH": "/env/a::/env/b/", "OTHER": "/x"],
            executableFolder: "/opt/hybrid/bin")
        #expect(path.entries == [
            .init(folder: "/recipe/plugins", origin: .recipe),
            .init(folder: "/env/a", origin: .environment),
            .init(folder: "/env/b/", origin: .environment),
            .init(folder: "/opt/hybrid/bin", origin: .executable),
            .init(folder: "/usr/local/lib/hybrid/plugins", origin: .system),
        ])
    }

    @Test("a folder listed twice keeps its first place")
    func duplicates() {
        let path = PluginSearchPath.standard(recipeFolders: ["/p"], environment: ["HYBRID_PLUGIN_PATH": "/p/"],
                                             executableFolder: nil)
        #expect(path.entries.map(\.origin) == [.recipe, .system])
    }

    @Test("the executable's folder comes from /proc/self/exe")
    func executableFolder() throws {
        let folder = try #require(PluginSearchPath.executableFolder())
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        #expect(executable.hasPrefix(folder + "/"))
    }

    @Test("values with a slash or ending in .so are paths; others are names")
    func explicitPaths() {
        #expect(PluginSearchPath.isExplicitPath("./libhybrid-objective-next.so"))
        #expect(PluginSearchPath.isExplicitPath("/opt/x"))
        #expect(PluginSearchPath.isExplicitPath("libhybrid-objective-next.so"))
        #expect(!PluginSearchPath.isExplicitPath("causal"))
        #expect(PluginSearchPath.pluginName(fileName: "libhybrid-objective-masked.so") == "masked")
        #expect(PluginSearchPath.pluginName(fileName: "libhybrid-objective-.so") == nil)
        #expect(PluginSearchPath.pluginName(fileName: "libother.so") == nil)
    }

    @Test("the recipe's folder wins over HYBRID_PLUGIN_PATH, and the catalog marks the other as shadowed")
    func recipeFolderWins() throws {
        let compiler = try FixtureCompiler()
        defer { compiler.removeAll() }
        let fromEnvironment = try compiler.compile(
            FixtureSources.configurable, into: "libhybrid-objective-fixture.so", in: "env",
            defines: ["PLUGIN_VERSION=\"from-env\""])
        let fromRecipe = try compiler.compile(
            FixtureSources.configurable, into: "libhybrid-objective-fixture.so", in: "recipe",
            defines: ["PLUGIN_VERSION=\"from-recipe\""])
        try compiler.compile(FixtureSources.configurable, into: "libhybrid-objective-broken.so",
                             in: "env", defines: ["DESCRIPTOR_MAJOR=2"])
        // Not a candidate: the name does not match libhybrid-objective-*.so.
        try compiler.compile(FixtureSources.configurable, into: "libfixture.so", in: "env")
        let searchPath = PluginSearchPath.standard(
            recipeFolders: [try compiler.subfolder("recipe")],
            environment: ["HYBRID_PLUGIN_PATH": try compiler.subfolder("env")],
            executableFolder: nil, systemFolder: try compiler.subfolder("system"))

        let plugin = try PluginLoader.load("fixture", searchPath: searchPath)
        #expect(plugin.path == fromRecipe)
        #expect(plugin.origin == .recipe)
        #expect(plugin.version == "from-recipe")

        let listings = PluginCatalog.scan(searchPath)
        #expect(listings.map(\.candidate.path) == [
            fromRecipe, (try compiler.subfolder("env") as NSString)
                .appendingPathComponent("libhybrid-objective-broken.so"), fromEnvironment,
        ])
        #expect(listings.map(\.shadowedBy) == [nil, nil, fromRecipe])
        #expect(listings[2].plugin?.version == "from-env")
        #expect(listings[2].candidate.origin == .environment)
        #expect(listings[1].refusal?.reason.hasPrefix("ABI version 2.") == true)
        #expect(listings[2].description.contains("shadowed by \(fromRecipe)"))
        #expect(listings[1].description.contains("refused: ABI version 2."))
        #expect(listings[0].description.contains("rate: float = 0.5  # a float"))
        #expect(listings.map(\.shadows) == [[fromEnvironment], [], []])
        #expect(listings[0].description.contains("shadows \(fromEnvironment)"))
    }

    @Test("a refused plugin that shadows another of its name says so, naming the file it hides")
    func refusedShadowSaysSo() throws {
        let compiler = try FixtureCompiler()
        defer { compiler.removeAll() }
        let broken = try compiler.compile(FixtureSources.configurable, into: "libhybrid-objective-fixture.so",
                                          in: "env", defines: ["DESCRIPTOR_MAJOR=2"])
        let bundled = try compiler.compile(FixtureSources.configurable, into: "libhybrid-objective-fixture.so",
                                           in: "bundled")
        let searchPath = PluginSearchPath.standard(
            environment: ["HYBRID_PLUGIN_PATH": try compiler.subfolder("env")],
            executableFolder: try compiler.subfolder("bundled"), systemFolder: try compiler.subfolder("system"))
        let error = try #require(throws: PluginError.self) { try PluginLoader.load("fixture", searchPath: searchPath) }
        #expect(error.path == broken)
        #expect(error.description.hasPrefix("\(broken): ABI version 2."))
        #expect(error.description.contains("; this file shadows \(bundled) (the same name later on the search path)"))
        // Named by path, the same file is refused without the note: nothing is shadowed.
        let direct = try #require(throws: PluginError.self) { try PluginLoader.load(broken, searchPath: searchPath) }
        #expect(!direct.description.contains("shadows"))
    }

    @Test("HYBRID_PLUGIN_PATH is searched in order, before the system folder")
    func environmentOrder() throws {
        let compiler = try FixtureCompiler()
        defer { compiler.removeAll() }
        let second = try compiler.compile(FixtureSources.configurable,
                                          into: "libhybrid-objective-fixture.so", in: "second")
        let system = try compiler.compile(FixtureSources.configurable, into: "libhybrid-objective-fixture.so",
                                          in: "system")
        let searchPath = PluginSearchPath.standard(
            environment: ["HYBRID_PLUGIN_PATH": "\(try compiler.subfolder("first")):\(try compiler.subfolder("second"))"],
            executableFolder: nil, systemFolder: try compiler.subfolder("system"))
        let found = try searchPath.resolve("fixture")
        #expect(found == PluginCandidate(path: second, origin: .environment, shadows: [system]))
    }

    @Test("a name found nowhere lists every folder searched")
    func notFound() throws {
        let searchPath = PluginSearchPath.standard(
            recipeFolders: ["/nowhere/recipe"], environment: ["HYBRID_PLUGIN_PATH": "/nowhere/env"],
            executableFolder: "/nowhere/bin", systemFolder: "/nowhere/system")
        let error = #expect(throws: PluginError.self) {
            try PluginLoader.load("mystery", searchPath: searchPath)
        }
        #expect(error?.description == """
            no objective plugin named "mystery": libhybrid-objective-mystery.so is in none of the 4 folders searched:
              /nowhere/recipe (recipe plugin_paths)
              /nowhere/env (HYBRID_PLUGIN_PATH)
              /nowhere/bin (beside the executable)
              /nowhere/system (system folder)
            """)
    }

    @Test("a descriptor name that differs from the file name is fine, and the listing shows both")
    func nameMismatch() throws {
        let compiler = try FixtureCompiler()
        defer { compiler.removeAll() }
        try compiler.compile(FixtureSources.configurable, into: "libhybrid-objective-other.so", in: "p")
        let listings = PluginCatalog.scan(PluginSearchPath(entries: [
            .init(folder: try compiler.subfolder("p"), origin: .recipe)]))
        #expect(listings.count == 1)
        #expect(listings[0].plugin?.name == "fixture")
        #expect(listings[0].description.contains("fixture 0.1.0 (file name says \"other\") — a test fixture"))
    }
}
