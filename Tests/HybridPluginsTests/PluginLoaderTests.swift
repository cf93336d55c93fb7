import CHybridPlugin
import Foundation
import HybridPlugins
import HybridRecipe
import Testing

@Suite("Loading plugins")
struct PluginLoaderTests {
    static let host = "\(HYBRID_ABI_MAJOR).\(HYBRID_ABI_MINOR)"

    /// Compiles the configurable fixture with `defines` and tries to load it.
    func loadFixture(_ defines: [String] = [], fileName: String = "libhybrid-objective-fixture.so")
        throws -> (Result<LoadedPlugin, PluginError>, path: String) {
        let compiler = try FixtureCompiler()
        defer { compiler.removeAll() }
        let path = try compiler.compile(FixtureSources.configurable, into: fileName, defines: defines)
        let result = Result { () throws(PluginError) in
            try PluginLoader.load(PluginCandidate(path: path, origin: .explicitPath))
        }
        return (result, path)
    }

    /// The refusal `defines` lead to; records an issue if the fixture loads.
    func refusal(_ defines: [String]) throws -> (PluginError, path: String)? {
        let (result, path) = try loadFixture(defines)
        switch result {
        case .success: Issue.record("a fixture built with \(defines) loaded"); return nil
        case .failure(let error): return (error, path)
        }
    }

    @Test("the worked example in hybrid_plugin.h compiles, loads and prepares a batch")
    func headerExample() throws {
        let compiler = try FixtureCompiler()
        defer { compiler.removeAll() }
        let path = try compiler.compile(try FixtureSources.headerExample(),
                                        into: "libhybrid-objective-next.so")
        let plugin = try PluginLoader.load("\(path)", searchPath: PluginSearchPath(entries: []))

        #expect(plugin.path == path)
        #expect(plugin.origin == .explicitPath)
        #expect(plugin.name == "next")
        #expect(plugin.nameFromFile == "next")
        #expect(plugin.version == "1.0.0")
        #expect(plugin.summary == "next-byte prediction, causal attention")
        #expect(plugin.abiVersion == PluginABI.host)
        #expect(plugin.dataKind == .text)
        #expect(plugin.windowExtra == 1)
        #expect(!plugin.canSample)
        #expect(plugin.configKeys == [ConfigKeySpec(
            name: "smoothing", type: .float, defaultValue: "0.0",
            doc: "unused here; shows a declared key")])

        let instance = try ObjectiveInstance(plugin: plugin, config: [("smoothing", .float(0.1))],
                                             setup: ObjectiveSetup(dModel: 16, seqLen: 4, seed: 1))
        #expect(instance.config == [.float(0.1)])
        let batch = try instance.prepare("abcdevwxyz", batchSize: 2, seqLen: 4)
        #expect(batch.tokens == Array("abcdvwxy".utf8).map(Int32.init))
        #expect(batch.targets == Array("bcdewxyz".utf8).map(Int32.init))
        #expect(batch.weights == Array(repeating: 1, count: 8))
    }

    @Test("loading one file twice opens it once and reads the same descriptor")
    func cache() throws {
        let compiler = try FixtureCompiler()
        defer { compiler.removeAll() }
        let path = try compiler.compile(FixtureSources.configurable, into: "libhybrid-objective-fixture.so")
        let link = compiler.folder.appendingPathComponent("libhybrid-objective-alias.so").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: path)
        let first = try PluginLoader.load(PluginCandidate(path: path, origin: .recipe))
        let second = try PluginLoader.load(PluginCandidate(path: link, origin: .environment))
        #expect(first.descriptor == second.descriptor)
        #expect(second.path == link && second.origin == .environment)
        #expect(second.realPath == first.realPath)
        #expect(second.nameFromFile == "alias" && second.name == "fixture")
    }

    @Test("a missing file is named")
    func missingFile() {
        let path = "/nonexistent/libhybrid-objective-gone.so"
        #expect(throws: PluginError.missingFile(path: path)) {
            try PluginLoader.load(path, searchPath: PluginSearchPath(entries: []))
        }
        #expect(PluginError.missingFile(path: path).description == "\(path): no such file")
    }

    @Test("a file that is not a shared library is refused with dlopen's reason")
    func notALibrary() throws {
        let compiler = try FixtureCompiler()
        defer { compiler.removeAll() }
        let path = try compiler.write(Array("this is no ELF file, just text".utf8),
                                      as: "libhybrid-objective-junk.so")
        let error = #expect(throws: PluginError.self) {
            try PluginLoader.load(PluginCandidate(path: path, origin: .recipe))
        }
        guard case .notALibrary(path, let dlerror)? = error else {
            Issue.record("expected notALibrary, got \(String(describing: error))"); return
        }
        #expect(!dlerror.isEmpty)
        #expect(error!.description.hasPrefix("\(path): not a shared library"))
        #expect(error!.description.contains(dlerror))
    }

    @Test("a shared library that dlopen refuses is named with dlopen's reason")
    func loadFails() throws {
        let (error, path) = try #require(try refusal(["UNDEFINED_SYMBOL"]))
        guard case .loadFailed(path, let reason) = error else { Issue.record("got \(error)"); return }
        #expect(reason.contains("hybrid_fixture_undefined"))
        #expect(error.description == "\(path): could not be loaded: \(reason)")
    }

    @Test("a library without the entry symbol is refused")
    func noEntry() throws {
        let (error, path) = try #require(try refusal(["NO_ENTRY"]))
        guard case .missingEntry = error else { Issue.record("got \(error)"); return }
        #expect(error.description.hasPrefix("\(path): no symbol hybrid_objective_entry"))
    }

    @Test("a descriptor of another major version is refused, naming both versions")
    func majorMismatch() throws {
        let (error, path) = try #require(try refusal(["DESCRIPTOR_MAJOR=2"]))
        #expect(error.description == "\(path): ABI version 2.\(HYBRID_ABI_MINOR) is not supported by this host "
            + "(\(Self.host)); rebuild the plugin against hybrid_plugin.h \(HYBRID_ABI_MAJOR).x")
    }

    @Test("a function table of another major version is refused")
    func functionsMajorMismatch() throws {
        let (error, _) = try #require(try refusal(["FUNCTIONS_MAJOR=7"]))
        #expect(error == .abiUnsupported(path: error.path!, part: "function table",
                                         found: PluginABIVersion(major: 7, minor: Int(HYBRID_ABI_MINOR)),
                                         host: PluginABI.host))
        #expect(error.reason.hasPrefix("function table ABI version 7.\(HYBRID_ABI_MINOR) is not supported"))
    }

    @Test("a minor version above the host's is refused, naming both versions")
    func newerMinor() throws {
        let newer = "\(HYBRID_ABI_MAJOR).\(HYBRID_ABI_MINOR + 1)"
        let (error, path) = try #require(try refusal(["DESCRIPTOR_MINOR=\(HYBRID_ABI_MINOR + 1)"]))
        #expect(error.description == "\(path): ABI version \(newer) is newer than this host's "
            + "(\(Self.host)); use a newer hybrid, or rebuild the plugin against hybrid_plugin.h \(Self.host)")
    }

    @Test("every minor version up to the host's is accepted", arguments: 0...HYBRID_ABI_MINOR)
    func olderMinor(minor: Int32) throws {
        let (result, _) = try loadFixture(["DESCRIPTOR_MINOR=\(minor)"])
        let plugin = try result.get()
        #expect(plugin.abiVersion == PluginABIVersion(major: Int(HYBRID_ABI_MAJOR), minor: Int(minor)))
    }

    @Test("a descriptor smaller than ABI 1.0's is refused")
    func descriptorTooSmall() throws {
        let (error, _) = try #require(try refusal(["DESCRIPTOR_SIZE=16"]))
        guard case .invalidDescriptor(_, let problem) = error else { Issue.record("got \(error)"); return }
        #expect(problem.hasPrefix("descriptor declares 16 bytes; ABI 1.0 needs at least"))
    }

    @Test("a function table without build is refused")
    func missingBuild() throws {
        let (error, _) = try #require(try refusal(["NO_BUILD"]))
        #expect(error.reason == "invalid descriptor: the function table has NULL build; "
            + "create, destroy, prepare_batch and build are required")
    }

    @Test("counts and pointers in a descriptor are checked before they are followed", arguments: [
        (["KEY_COUNT=4000000000u"], "config_key_count is 4000000000; expected at most 1024"),
        (["KEYS=((const hybrid_config_key *)16)"], "config_keys points at unreadable memory for its 4 keys"),
        (["PLUGIN_NAME=((const char *)16)"], "the name points at unreadable memory"),
        (["PLUGIN_VERSION=((const char *)0x7ffffffff000)"], "the version points at unreadable memory"),
        (["WINDOW_EXTRA=4000000000u"], "window_extra is 4000000000; expected at most 65536 extra bytes per window"),
        (["WILD_DESCRIPTOR=16"], "the descriptor points at unreadable memory"),
    ])
    func wildDescriptor(defines: [String], problem: String) throws {
        let (error, _) = try #require(try refusal(defines))
        #expect(error.reason == "invalid descriptor: \(problem)", "\(defines)")
    }

    @Test("a descriptor string longer than its bound is refused, not read without end")
    func longName() throws {
        let name = String(repeating: "a", count: 300)
        let (error, _) = try #require(try refusal(["PLUGIN_NAME=\"\(name)\""]))
        #expect(error.reason == "invalid descriptor: the name runs past 256 bytes without a NUL")
    }

    @Test("config rules that cannot hold are refused", arguments: [
        (["RULES=choices_on_int"], "config key \"steps\" (int) lists choices; only a string key may"),
        (["RULES=inverted"], "config key \"steps\" has minimum 5.0 above its maximum 1.0"),
        (["RULES=default_outside"], "config key \"rate\" has default \"0.5\", which its own rule refuses (expected a number <= 0.25)"),
        (["RULES=bounds_on_bool"], "config key \"shuffle\" (bool) has bounds; only an int or float key may"),
        (["RULES=((const hybrid_config_rule *)16)"], "config_rules points at unreadable memory for its 4 keys' rules"),
    ])
    func badRules(defines: [String], problem: String) throws {
        let (error, _) = try #require(try refusal(defines))
        #expect(error.reason == "invalid descriptor: \(problem)", "\(defines)")
    }

    @Test("config rules reach the host's check at the value's node; a 1.4 plugin's are not read")
    func rulesAreChecked() throws {
        let (result, _) = try loadFixture(["RULES=good_rules"])
        let plugin = try result.get()
        #expect(plugin.configKeys.map(\.expected) == ["an integer >= 1", "a number in (0, 1]", "true or false", "one of linear, cosine"])
        do {
            _ = try ObjectiveInstance(plugin: plugin, recipeConfig: "steps: 0\nrate: 0\nschedule: cosin\n", setup: ObjectiveSetup(dModel: 16, seqLen: 8, seed: 1))
            Issue.record("a config its rules refuse was accepted")
        } catch let e as RecipeErrors {
            #expect(e.lines == ["config:1:8: config.steps: expected an integer >= 1, found \"0\"",
                                "config:2:7: config.rate: expected a number in (0, 1], found \"0\"",
                                "config:3:11: config.schedule: expected one of linear, cosine, found \"cosin\"; did you mean `cosine`?"], "\(e.lines)")
        }
        let (old, _) = try loadFixture(["RULES=good_rules", "DESCRIPTOR_MINOR=4"])
        #expect(try old.get().configKeys.allSatisfy { $0.choices.isEmpty && $0.minimum == nil && $0.maximum == nil })
    }

    @Test("a config default that does not parse as its type is refused")
    func badDefault() throws {
        let (error, _) = try #require(try refusal(["BAD_DEFAULT"]))
        #expect(error.reason == "invalid descriptor: config key \"rate\" (float) has default "
            + "\"fast\", which is not a float")
    }

    @Test("an entry that fails surfaces its message")
    func entryFails() throws {
        let (error, path) = try #require(try refusal(["ENTRY_ERROR=\"needs a GPU\""]))
        #expect(error.description == "\(path): entry returned an error: needs a GPU "
            + "(host ABI \(Self.host), \(PluginLoader.hostVersion))")
    }

    @Test("config keys of every type read back, and create gets defaults and given values")
    func configReachesCreate() throws {
        let (result, path) = try loadFixture(["CREATE_ECHOES_CONFIG"])
        let plugin = try result.get()
        #expect(plugin.configKeys.map(\.type) == [.int, .float, .bool, .string])
        #expect(plugin.configKeys.map(\.defaultValue) == ["3", "0.5", "true", "linear"])
        #expect(plugin.configKeys.map(\.doc) == ["an int", "a float", "a bool", ""])

        let setup = ObjectiveSetup(dModel: 16, seqLen: 8, seed: 42)
        #expect(throws: PluginError.pluginFailed(
            path: path, function: "create",
            message: "4 values: steps=7 rate=2 shuffle=1 schedule=cosine; "
                + "d_model=16 seq_len=8 vocab=\(HYBRID_VOCAB) seed=42")) {
            // rate is a float key: an int is widened; shuffle keeps its default.
            try ObjectiveInstance(plugin: plugin, recipeConfig: "steps: 7\nrate: 2\nschedule: cosine\n",
                                  setup: setup)
        }
        #expect(throws: PluginError.pluginFailed(
            path: path, function: "create",
            message: "4 values: steps=3 rate=0.5 shuffle=1 schedule=linear; "
                + "d_model=16 seq_len=8 vocab=\(HYBRID_VOCAB) seed=42")) {
            try ObjectiveInstance(plugin: plugin, setup: setup)
        }
    }

    @Test("config values the plugin did not declare, or of the wrong type, are refused")
    func badConfig() throws {
        let plugin = try loadFixture().0.get()
        let setup = ObjectiveSetup(dModel: 8, seqLen: 4, seed: 0)
        #expect(throws: PluginError.invalidConfig(
            path: plugin.path, problem: "expected a value for each declared key in order "
                + "(steps, rate, shuffle, schedule); found stesp")) {
            try ObjectiveInstance(plugin: plugin, config: [("stesp", .int(1))], setup: setup)
        }
        #expect(throws: PluginError.invalidConfig(
            path: plugin.path, problem: "key \"shuffle\" is a bool; found a string")) {
            try ObjectiveInstance(plugin: plugin, config: [("steps", .int(3)), ("rate", .float(0.5)),
                                                           ("shuffle", .string("yes")),
                                                           ("schedule", .string("linear"))],
                                  setup: setup)
        }
    }

    @Test("a batch with an out-of-range token is refused after prepare_batch")
    func badToken() throws {
        let plugin = try loadFixture(["BAD_TOKEN=300"]).0.get()
        let instance = try ObjectiveInstance(plugin: plugin, setup: ObjectiveSetup(dModel: 8, seqLen: 2, seed: 0))
        #expect(throws: PluginError.pluginFailed(
            path: plugin.path, function: "prepare_batch",
            message: "tokens[0, 0] is 300; expected an id in 0..<\(HYBRID_VOCAB)")) {
            try instance.prepare("abc", batchSize: 1, seqLen: 2)
        }
    }

    @Test("a failing build surfaces its message; a missing sampler is its own error")
    func buildFails() throws {
        let plugin = try loadFixture().0.get()
        let instance = try ObjectiveInstance(plugin: plugin, setup: ObjectiveSetup(dModel: 8, seqLen: 2, seed: 0))
        let host = FakeHost()
        let inputs = ObjectiveBuildInputs(mode: .train, batchSize: 1, seqLen: 2, dModel: 8,
                                          tokens: 1, targets: 2, lossWeights: 3)
        #expect(throws: PluginError.pluginFailed(path: plugin.path, function: "build",
                                                 message: "the fixture builds nothing")) {
            try instance.build(api: host.api, graph: host.handle, inputs: inputs)
        }
        #expect(throws: PluginError.cannotSample(path: plugin.path, name: "fixture")) {
            try instance.sample(api: host.api, sampler: host.handle, prompt: [1], newTokens: 1, seqLen: 2)
        }
    }

    @Test("a build may ask for its own model at 1...B rows in train mode, and nothing else")
    func ownModelBatch() throws {
        let host = FakeHost()
        func build(asking rows: Int, mode: ObjectiveBuildMode) throws -> ObjectiveBuildOutputs {
            let plugin = try loadFixture(["OWN_MODEL_BATCH=\(rows)"]).0.get()
            let instance = try ObjectiveInstance(plugin: plugin, setup: ObjectiveSetup(dModel: 8, seqLen: 2, seed: 0))
            return try instance.build(api: host.api, graph: host.handle, inputs: ObjectiveBuildInputs(
                mode: mode, batchSize: 4, seqLen: 2, dModel: 8, tokens: 1, targets: 2, lossWeights: 3))
        }
        #expect(try build(asking: 2, mode: .train).ownModelBatch == 2)
        #expect(try build(asking: 0, mode: .infer).ownModelBatch == 0)
        for (rows, mode) in [(5, ObjectiveBuildMode.train), (-1, .train), (2, .infer)] {
            #expect(throws: PluginError.self, "\(rows) \(mode)") { try build(asking: rows, mode: mode) }
            do { _ = try build(asking: rows, mode: mode) } catch {
                #expect("\(error)".contains("asked for its own model at batch size \(rows); expected 0, or in train mode 1...4 (the batch)"), "\(error)")
            }
        }
    }
}
