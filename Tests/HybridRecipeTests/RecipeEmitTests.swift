import HybridRecipe
import Testing

@Suite("Emitting the resolved recipe")
struct RecipeEmitTests {
    @Test("emitted YAML loads back to an equal recipe", arguments: [minimalRecipe, RecipeDecodingTests.fullRecipe])
    func roundTrip(yaml: String) throws {
        let scratch = Scratch()
        let recipe = try scratch.load(yaml)
        let text = recipe.yamlText()
        let again = try Recipe.load(path: scratch.write("resolved.yaml", text))
        #expect(again == recipe, "\(text)")
        #expect(again.yamlText() == text)
    }

    @Test("defaults are written out and patterns kept as written")
    func text() throws {
        let text = try Scratch().load(minimalRecipe).yamlText()
        #expect(text.hasPrefix("""
            device: auto
            precision: fp32
            plugin_paths: []
            model:
              d_model: 64
              layers: 2
              heads: 4
              seq_len: 32
              mlp_ratio: 4
              dropout: 0.0
              image_experts: false
            data:
              text:
                - corpus/*.txt
              validation_fraction: 0.1
            objectives:
              - plugin: causal
                name: causal
                weight: 1.0
                weight_end: 1.0
                weight_schedule: constant
                config: {}
            mixing: sum
            optimizer:
              name: adamw
              lr: 0.001
              betas:
                - 0.9
                - 0.95
              eps: 1e-08

            """), "\(text)")
        #expect(text.hasSuffix("  output: runs/r\n  recompute: cheap\ncheckpoint:\n  every: 0\n  keep: 0\n  resume: none\n"), "\(text)")
    }

    @Test("plugin configs with awkward values survive the round trip")
    func awkwardConfig() throws {
        let config = """
                  quoted_number: "1"
                  colon: "a: b"
                  hash: "x #y"
                  leading: " padded"
                  star: "*.txt"
                  empty: ""
                  nothing:
                  yes: "true"
                  newline: "one\\ntwo"
                  unicode: "naïve → ok"
                  nested:
                    - [1, 2]
                    - {k: v}
                    - []
                  "key: odd": 3
            """
        let scratch = Scratch()
        let recipe = try scratch.load(minimalRecipe(replacing: "  - plugin: causal",
                                                    with: "  - plugin: causal\n    config:\n" + config))
        let again = try Recipe.load(path: scratch.write("resolved.yaml", recipe.yamlText()))
        #expect(again.objectives[0].config == recipe.objectives[0].config, "\(recipe.yamlText())")
        #expect(recipe.objectives[0].config.entries?.count == 12)
    }
}
