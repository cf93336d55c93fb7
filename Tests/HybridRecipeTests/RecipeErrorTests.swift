import Foundation
import HybridRecipe
import Testing

@Suite("Recipe errors name the file, position, key, expectation and finding")
struct RecipeErrorTests {
    @Test("a missing file is named")
    func missingFile() {
        let path = Scratch().folder + "/nowhere.yaml"
        #expect(throws: RecipeErrors([RecipeError(at: Mark(file: path), reason: "recipe file not found")])) {
            try Recipe.load(path: path)
        }
        do {
            _ = try Recipe.load(path: path)
        } catch {
            #expect(error.description == "\(path): recipe file not found")
        }
        let scratch = Scratch()
        #expect(throws: RecipeErrors([RecipeError(at: Mark(file: scratch.folder),
                                                  reason: "this is a folder, not a recipe file")])) {
            try Recipe.load(path: scratch.folder)
        }
    }

    @Test("an empty recipe says so", arguments: ["", "# only a comment\n", "---\n", "~\n"])
    func emptyFile(text: String) {
        let message = Scratch().message(text)
        #expect(message.hasPrefix("r.yaml: recipe is empty"), "\(message)")
    }

    @Test("invalid YAML reports libyaml's problem at its line and column")
    func invalidYAML() {
        let message = Scratch().message("model:\n  d_model: 64: 3\n")
        #expect(message == "r.yaml:2:14: invalid YAML: mapping values are not allowed in this context")
        let unclosed = Scratch().message("model: {d_model: 64\ndata: 1\n")
        #expect(unclosed.hasPrefix("r.yaml:2:5: invalid YAML: did not find expected ',' or '}'"), "\(unclosed)")
        #expect(unclosed.contains("while parsing a flow mapping at line 1, column 8"), "\(unclosed)")
    }

    @Test("a duplicate key is an error at its second place")
    func duplicateKey() {
        #expect(Scratch().message(minimalRecipe(replacing: "  seq_len: 32", with: "  seq_len: 32\n  heads: 8"))
                    == "r.yaml:6:3: model.heads: duplicate key (first set at line 4, column 3)")
    }

    @Test("a second document is refused")
    func twoDocuments() {
        #expect(Scratch().message(minimalRecipe + "---\nmodel: {}\n")
                    == "r.yaml:13:1: a second YAML document begins here; expected a single document")
    }

    @Test("a list where a mapping belongs, and the reverse")
    func wrongShape() {
        let scratch = Scratch()
        #expect(scratch.message(minimalRecipe.replacingOccurrences(of: "  steps: 10\n  batch_size: 4", with: "  - 10"))
                    == "r.yaml:11:3: training: expected a mapping, found a list")
        #expect(scratch.message(minimalRecipe.replacingOccurrences(of: "  - plugin: causal", with: "  plugin: causal"))
                    == "r.yaml:9:3: objectives: expected a list of objectives, found a mapping")
        #expect(scratch.message("- 1\n- 2\n") == "r.yaml:1:1: expected a mapping, found a list")
    }

    @Test("an unknown key suggests the key meant", arguments: [
        ("  d_model: 64", "  d_modle: 64", "r.yaml:2:3: model.d_modle: unknown key; expected one of d_model, layers, heads, seq_len, mlp_ratio, dropout, image_experts; did you mean `d_model`?"),
        ("  steps: 10", "  steps: 10\n  warmup: 5", "r.yaml:12:3: training.warmup: unknown key; expected one of steps, batch_size, seed, eval_every, eval_batches, log_every, output, init_from, recompute"),
        ("training:", "trainnig:", "r.yaml:10:1: trainnig: unknown key; expected one of device, precision, plugin_paths, model, data, objectives, mixing, optimizer, schedule, training, checkpoint; did you mean `training`?"),
    ])
    func unknownKey(old: String, new: String, expected: String) {
        let errors = Scratch().errors(minimalRecipe(replacing: old, with: new)).map(\.description)
        #expect(errors.contains { $0.hasSuffix(expected) }, "\(errors)")
    }

    @Test("a prefix of a key is suggested, and a misspelt choice too")
    func prefixAndChoiceSuggestions() {
        let scratch = Scratch()
        #expect(scratch.message(minimalRecipe + "schedule:\n  warmup: 5\n").hasSuffix("did you mean `warmup_steps`?"))
        #expect(scratch.message(minimalRecipe + "device: vulcan\n")
                    == "r.yaml:13:9: device: expected one of auto, cpu, vulkan, found \"vulcan\"; did you mean `vulkan`?")
    }

    @Test("a missing required key is reported at its mapping")
    func missingKey() {
        #expect(Scratch().message(minimalRecipe(replacing: "  heads: 4\n", with: ""))
                    == "r.yaml:2:3: model.heads: missing required key; expected a positive integer")
    }

    @Test("sizes must be positive", arguments: [
        ("  d_model: 64", "  d_model: -3", "r.yaml:2:12: model.d_model: expected a positive integer, found \"-3\""),
        ("  layers: 2", "  layers: 0", "r.yaml:3:11: model.layers: expected a positive integer, found \"0\""),
        ("  heads: 4", "  heads: 0", "r.yaml:4:10: model.heads: expected a positive integer, found \"0\""),
        ("  seq_len: 32", "  seq_len: -1", "r.yaml:5:12: model.seq_len: expected a positive integer, found \"-1\""),
        ("  steps: 10", "  steps: 0", "r.yaml:11:10: training.steps: expected a positive integer, found \"0\""),
        ("  batch_size: 4", "  batch_size: -4", "r.yaml:12:15: training.batch_size: expected a positive integer, found \"-4\""),
    ])
    func sizes(old: String, new: String, expected: String) {
        #expect(Scratch().message(minimalRecipe(replacing: old, with: new)) == expected)
    }

    @Test("values of the wrong type", arguments: [
        ("  d_model: 64", "  d_model: 1.5", "r.yaml:2:12: model.d_model: expected a positive integer, found \"1.5\""),
        ("  d_model: 64", "  d_model: \"64\"", "r.yaml:2:12: model.d_model: expected a positive integer, found the quoted string \"64\""),
        ("  layers: 2", "  layers: [2]", "r.yaml:3:11: model.layers: expected a positive integer, found a list"),
        ("  steps: 10", "  steps:", "r.yaml:11:9: training.steps: expected a positive integer, found an empty value"),
        ("  - plugin: causal", "  - plugin: causal\n    weight: heavy", "r.yaml:10:13: objectives[0].weight: expected a number >= 0, found \"heavy\""),
    ])
    func wrongTypes(old: String, new: String, expected: String) {
        #expect(Scratch().message(minimalRecipe(replacing: old, with: new)) == expected)
    }

    @Test("ranges of the optimizer, schedule and data settings", arguments: [
        ("optimizer:\n  betas: [0.9, 1]\n", "r.yaml:14:16: optimizer.betas[1]: expected a number in [0, 1), found \"1\""),
        ("optimizer:\n  betas: [0.9]\n", "r.yaml:14:10: optimizer.betas: expected a list of two numbers in [0, 1), found a list of 1"),
        ("optimizer:\n  lr: 0\n", "r.yaml:14:7: optimizer.lr: expected a number > 0, found \"0\""),
        ("optimizer:\n  name: sgd\n", "r.yaml:14:9: optimizer.name: expected `adamw`, found \"sgd\""),
        ("schedule:\n  min_lr_ratio: 1.5\n", "r.yaml:14:17: schedule.min_lr_ratio: expected a number in [0, 1], found \"1.5\""),
    ])
    func ranges(extra: String, expected: String) {
        #expect(Scratch().message(minimalRecipe + extra) == expected)
    }

    @Test("dropout must be 0 for now")
    func dropout() {
        #expect(Scratch().message(minimalRecipe(replacing: "  seq_len: 32", with: "  seq_len: 32\n  dropout: 0.1"))
                    == "r.yaml:6:12: model.dropout: dropout is not supported yet; expected 0, found \"0.1\"")
    }

    @Test("mixed precision is refused on the CPU, at the precision key")
    func mixedPrecisionOnTheCPU() {
        #expect(Scratch().message(minimalRecipe + "device: cpu\nprecision: mixed\n")
                    == "r.yaml:14:12: precision: the CPU backend computes in fp32 only; mixed precision runs on device: vulkan (or auto with a GPU); "
                    + "expected fp32 with device: cpu, found \"mixed\"")
        #expect(Scratch().message(minimalRecipe + "precision: bf16\n") == "r.yaml:13:12: precision: expected one of fp32, mixed, found \"bf16\"")
    }

    @Test("d_model must be divisible by heads")
    func heads() {
        #expect(Scratch().message(minimalRecipe(replacing: "  heads: 4", with: "  heads: 5"))
                    == "r.yaml:4:10: model.heads: d_model (64) is not divisible by heads (5); expected a divisor of 64, found 5")
    }

    @Test("a data pattern that matches no file is named with its place")
    func missingData() {
        let scratch = Scratch()
        let message = scratch.message(minimalRecipe(replacing: "  text: [corpus/*.txt]",
                                                    with: "  text:\n    - corpus/*.txt\n    - corpus/*.md"))
        #expect(message == "r.yaml:9:7: data.text[1]: no file matches this pattern (relative to \(scratch.folder)); "
                    + "expected a path or glob that matches at least one file, found \"corpus/*.md\"")
        #expect(scratch.message(minimalRecipe(replacing: "  text: [corpus/*.txt]", with: "  text: []"))
                    == "r.yaml:7:3: data: expected text (a list of paths or globs) or images (a path), or both, found neither")
    }

    @Test("a missing teacher or init_from checkpoint is named with its place")
    func missingCheckpoints() {
        let scratch = Scratch()
        #expect(scratch.message(minimalRecipe(replacing: "  - plugin: causal", with: "  - plugin: causal\n    teacher: t.safetensors"))
                    == "r.yaml:10:14: objectives[0].teacher: no such file (relative to \(scratch.folder)); "
                    + "expected a checkpoint (.safetensors), found \"t.safetensors\"")
        #expect(scratch.message(minimalRecipe(replacing: "  batch_size: 4", with: "  batch_size: 4\n  init_from: [a]"))
                    == "r.yaml:13:14: training.init_from: expected a checkpoint (.safetensors), found a list")
    }

    @Test("two objectives with one name")
    func duplicateObjectiveNames() {
        #expect(Scratch().message(minimalRecipe(replacing: "  - plugin: causal", with: "  - plugin: causal\n  - plugin: causal"))
                    == "r.yaml:10:5: objectives[1].name: objectives[0] already has the name `causal`; "
                    + "expected a name unique among the objectives (set `name:`), found \"causal\"")
    }

    @Test("a negative weight")
    func negativeWeight() {
        #expect(Scratch().message(minimalRecipe(replacing: "  - plugin: causal", with: "  - plugin: causal\n    weight: -0.5"))
                    == "r.yaml:10:13: objectives[0].weight: expected a number >= 0, found \"-0.5\"")
    }

    @Test("several errors are reported together")
    func severalErrors() {
        let yaml = """
            model:
              d_modle: 64
              layers: 2
              heads: 0
              seq_len: 32
            data:
              text: [corpus/*.txt]
            objectives:
              - plugin: causal
                weight: -1
            optimizer: [adamw]

            """
        let errors = Scratch().errors(yaml).map(\.description)
        let expected = [
            "r.yaml:2:3: model.d_modle: unknown key",
            "r.yaml:2:3: model.d_model: missing required key; expected a positive integer",
            "r.yaml:4:10: model.heads: expected a positive integer, found \"0\"",
            "r.yaml:10:13: objectives[0].weight: expected a number >= 0, found \"-1\"",
            "r.yaml:11:12: optimizer: expected a mapping, found a list",
            "r.yaml:1:1: training: missing required key; expected a mapping",
        ]
        #expect(errors.count == expected.count, "\(errors)")
        for (error, prefix) in zip(errors, expected) {
            #expect(error.hasSuffix(prefix) || error.contains(prefix + ";"), "\(error) should read \(prefix)")
        }
    }
}

@Suite("Mixing and weights") struct MixingRecipeTests {
    @Test func mixingDefaultsToSumAndAcceptsSample() throws {
        let scratch = Scratch()
        #expect(try scratch.load(minimalRecipe).mixing == .sum)
        let sample = try scratch.load(minimalRecipe, overrides: ["mixing=sample"])
        #expect(sample.mixing == .sample)
        #expect(try Recipe.decode(yaml: sample.yamlText(), path: scratch.folder + "/r.yaml") == sample)
    }

    @Test func unknownMixingIsRefused() {
        let message = Scratch().message(minimalRecipe, overrides: ["mixing=alternate"])
        #expect(message.contains("mixing") && message.contains("sum"), "\(message)")
    }

    @Test func allZeroWeightsAreRefused() {
        let message = Scratch().message(minimalRecipe, overrides: ["objectives[0].weight=0"])
        #expect(message.contains("objectives: every objective has weight 0"), "\(message)")
    }
}

@Suite("Objective weight schedules") struct WeightScheduleRecipeTests {
    @Test func weightEndDefaultsToTheWeightAndTheScheduleToConstant() throws {
        let recipe = try Scratch().load(minimalRecipe, overrides: ["objectives[0].weight=0.5"])
        #expect(recipe.objectives[0].weightEnd == 0.5)
        #expect(recipe.objectives[0].weightSchedule == .constant)
    }

    @Test func aRampIsReadAndRoundTrips() throws {
        let scratch = Scratch()
        let recipe = try scratch.load(minimalRecipe, overrides: ["objectives[0].weight_end=2", "objectives[0].weight_schedule=cosine"])
        #expect(recipe.objectives[0].weightEnd == 2 && recipe.objectives[0].weightSchedule == .cosine)
        #expect(try Recipe.decode(yaml: recipe.yamlText(), path: scratch.folder + "/r.yaml") == recipe)
    }

    @Test func badScheduleAndNegativeEnd() {
        let scratch = Scratch()
        #expect(scratch.message(minimalRecipe, overrides: ["objectives[0].weight_schedule=steep"]).contains("one of constant, linear, cosine"))
        #expect(scratch.message(minimalRecipe, overrides: ["objectives[0].weight_end=-1"]).contains("objectives[0].weight_end"))
    }
}
