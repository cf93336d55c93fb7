import HybridRecipe
import Testing

@Suite("Plugin config resolution")
struct PluginConfigTests {
    static let keys = [
        ConfigKeySpec(name: "rate", type: .float, defaultValue: "0.15", doc: "share of tokens masked"),
        ConfigKeySpec(name: "span", type: .int, defaultValue: "3", doc: "mean span length"),
        ConfigKeySpec(name: "shuffle", type: .bool, defaultValue: "true", doc: "shuffle spans"),
        ConfigKeySpec(name: "mode", type: .string, defaultValue: "random", doc: "how spans are placed"),
    ]

    /// The config node of a recipe whose only objective has `config` (lines indented by 6).
    func configNode(_ scratch: Scratch, _ config: String) throws -> YAMLNode {
        try scratch.load(minimalRecipe(replacing: "  - plugin: causal",
                                       with: "  - plugin: causal\n    config:\n" + config)).objectives[0].config
    }

    func resolve(_ node: YAMLNode?) throws(RecipeErrors) -> [String] {
        try resolvePluginConfig(node, keys: Self.keys, keyPath: "objectives[0].config").map { "\($0.name)=\($0.value)" }
    }

    @Test("every declared key comes back in order, defaults filled in")
    func defaults() throws {
        #expect(try resolve(nil) == ["rate=float(0.15)", "span=int(3)", "shuffle=bool(true)", "mode=string(\"random\")"])
        let node = try configNode(Scratch(), "      mode: blocks\n      rate: 1\n")
        #expect(try resolve(node) == ["rate=float(1.0)", "span=int(3)", "shuffle=bool(true)", "mode=string(\"blocks\")"])
    }

    @Test("an unknown key is named at its place with a suggestion")
    func unknownKey() throws {
        let scratch = Scratch()
        let node = try configNode(scratch, "      rat: 0.2\n")
        #expect(throws: RecipeErrors.self) { try resolve(node) }
        do {
            _ = try resolve(node)
        } catch {
            #expect(error.description == scratch.folder + "/r.yaml:11:7: objectives[0].config.rat: unknown key; "
                        + "expected one of rate, span, shuffle, mode; did you mean `rate`?")
        }
    }

    @Test("a value of the wrong type is named at its place", arguments: [
        ("      span: 2.5\n", "r.yaml:11:13: objectives[0].config.span: expected an integer, found \"2.5\""),
        ("      shuffle: yes\n", "r.yaml:11:16: objectives[0].config.shuffle: expected true or false, found \"yes\""),
        ("      rate: [1]\n", "r.yaml:11:13: objectives[0].config.rate: expected a number, found a list"),
        ("      mode:\n", "r.yaml:11:12: objectives[0].config.mode: expected a string, found an empty value"),
    ])
    func wrongType(config: String, expected: String) throws {
        let scratch = Scratch()
        let node = try configNode(scratch, config)
        do {
            _ = try resolve(node)
            Issue.record("expected an error")
        } catch {
            #expect(error.errors.map(\.description) == [scratch.folder + "/" + expected])
        }
    }

    @Test("a declared default reads like recipe text, or not at all", arguments: [
        ("3", ConfigKeySpec.ValueType.int, ConfigValue?.some(.int(3))), ("2.5", .int, nil),
        ("1e-3", .float, .float(0.001)), ("2", .float, .float(2)), ("fast", .float, nil),
        ("True", .bool, .bool(true)), ("yes", .bool, nil),
        ("linear", .string, .string("linear")), ("", .string, .string("")),
    ])
    func defaultText(text: String, type: ConfigKeySpec.ValueType, expected: ConfigValue?) {
        #expect(ConfigValue(defaultText: text, type: type) == expected)
    }

    @Test("a default the plugin got wrong is reported")
    func badDefault() {
        let keys = [ConfigKeySpec(name: "steps", type: .int, defaultValue: "many", doc: "")]
        #expect(throws: RecipeErrors([RecipeError(at: Mark(file: "objectives[0].config"),
                                                  keyPath: "objectives[0].config.steps",
                                                  reason: "the plugin declares a default of the wrong type",
                                                  expected: "an integer", found: "\"many\"")])) {
            try resolvePluginConfig(nil, keys: keys, keyPath: "objectives[0].config")
        }
    }
}
