import HybridRecipe
import Testing

@Suite("Command-line overrides")
struct RecipeOverrideTests {
    @Test("overrides set values, create missing keys and address objectives by index or name")
    func goodOverrides() throws {
        let recipe = try Scratch().load(minimalRecipe, overrides: [
            "training.steps=5",
            "model.d_model=128",
            "objectives[0].weight=0.5",
            "device=cpu",
            "optimizer.betas=[0.9,0.99]",
            "schedule.name=constant",
            "objectives.causal.config.rate=0.3",
            "training.output=runs/x #1",  // ` #` starts a comment, as it would in the file
        ])
        #expect(recipe.training.steps == 5)
        #expect(recipe.model.dModel == 128)
        #expect(recipe.objectives[0].weight == 0.5)
        #expect(recipe.device == .cpu)
        #expect(recipe.optimizer.beta1 == 0.9 && recipe.optimizer.beta2 == 0.99)
        #expect(recipe.schedule.name == .constant && recipe.schedule.warmupSteps == 20)
        #expect(recipe.objectives[0].config == (try YAMLParser.parse("rate: 0.3", file: "expected")))
        #expect(recipe.training.output == "runs/x")
    }

    @Test("a later override wins, and an indexed list item can be replaced")
    func order() throws {
        let recipe = try Scratch().load(minimalRecipe, overrides: [
            "training.steps=5", "training.steps=6", "data.text[0]=extra.txt", "optimizer.betas=[0.8, 0.9]",
            "optimizer.betas[1]=0.85",
        ])
        #expect(recipe.training.steps == 6)
        #expect(recipe.data.text == ["extra.txt"])
        #expect(recipe.optimizer.beta2 == 0.85)
    }

    @Test("a bad override value is checked like the file and named by --set", arguments: [
        ("training.steps=abc", "--set training.steps: expected a positive integer, found \"abc\""),
        ("training.steps=-2", "--set training.steps: expected a positive integer, found \"-2\""),
        ("optimizer.betas=[0.9,2]", "--set optimizer.betas: optimizer.betas[1]: expected a number in [0, 1), found \"2\""),
        ("device=gpu", "--set device: expected one of auto, cpu, vulkan, found \"gpu\""),
        ("model={d_model: 64}", "--set model: model.layers: missing required key; expected a positive integer"),
        ("training.steps=[1", "--set training.steps: invalid YAML: did not find expected ',' or ']'"),
    ])
    func badValue(override: String, expected: String) {
        let errors = Scratch().errors(minimalRecipe, overrides: [override]).map(\.description)
        #expect(errors.first?.hasPrefix(expected) == true, "\(errors)")
    }

    @Test("an unknown override path gets a suggestion", arguments: [
        ("model.d_modle=64", "--set model.d_modle: unknown key; expected one of d_model, layers, heads, seq_len, mlp_ratio, dropout, image_experts; did you mean `d_model`?"),
        ("trainig.steps=5", "--set trainig.steps: trainig: unknown key; expected one of device, precision, plugin_paths, model, data, objectives, mixing, optimizer, schedule, training, checkpoint; did you mean `training`?"),
        ("objectives.causl.weight=2", "--set objectives.causl.weight: objectives: no item is named `causl`; expected an index like [0] or one of causal; did you mean `causal`?"),
        ("objectives[3].weight=2", "--set objectives[3].weight: objectives[3]: index out of range; expected an index from 0 to 0"),
        ("model.d_model.x=1", "--set model.d_model.x: model.d_model: cannot set `x` inside this value; expected a mapping, found \"64\""),
        ("training.steps", "--set training.steps: cannot read this override; expected key.path=value, like training.steps=100 or objectives[0].weight=0.5"),
        ("training..steps=1", "--set training..steps=1: cannot read this override; expected key.path=value, like training.steps=100 or objectives[0].weight=0.5"),
    ])
    func unknownPath(override: String, expected: String) {
        let errors = Scratch().errors(minimalRecipe, overrides: [override]).map(\.description)
        #expect(errors == [expected])
    }

    @Test("overrides complete a recipe that lacks a section")
    func createSection() throws {
        let recipe = try Scratch().load(minimalRecipe(replacing: "training:\n  steps: 10\n  batch_size: 4\n", with: ""),
                                        overrides: ["training.steps=3", "training.batch_size=2"])
        #expect(recipe.training.steps == 3 && recipe.training.batchSize == 2)
    }
}
