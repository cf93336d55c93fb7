import Foundation
import HybridRecipe
import Testing

/// `extends:` (deep merge over base recipes) and Hydra-style `+key=` / `~key` overrides.
@Suite struct RecipeCompositionTests {
    @Test func extendsMergesMappingsAndReplacesLists() throws {
        let scratch = Scratch()
        scratch.write("base.yaml", minimalRecipe + "optimizer:\n  lr: 0.01\n  betas: [0.8, 0.9]\n")
        let recipe = try scratch.load("""
            extends: base.yaml
            optimizer:
              betas: [0.5, 0.6]
              weight_decay: 0.2
            training:
              steps: 99
            """)
        #expect(recipe.training.steps == 99 && recipe.training.batchSize == 4, "training merges key by key")
        #expect(recipe.optimizer.lr == 0.01 && recipe.optimizer.weightDecay == 0.2 && recipe.optimizer.beta1 == 0.5)
        #expect(recipe.model.dModel == 64 && recipe.objectives.map(\.plugin) == ["causal"])
        // A list is replaced whole (and then checked: betas needs two values).
        let errors = scratch.errors("extends: base.yaml\noptimizer:\n  betas: [0.5]\n")
        #expect(errors.contains { "\($0)".contains("r.yaml:3:10") && "\($0)".contains("optimizer.betas") }, "\(errors)")
    }

    @Test func errorsInABasePointAtTheBase() {
        let scratch = Scratch()
        scratch.write("base.yaml", minimalRecipe(replacing: "  layers: 2", with: "  layers: two"))
        #expect(scratch.message("extends: base.yaml\n").hasPrefix("base.yaml:3:11: model.layers:"))
    }

    @Test func basesChainAndListsOfBasesMergeInOrder() throws {
        let scratch = Scratch()
        scratch.write("sub/base.yaml", minimalRecipe)
        scratch.write("sub/mid.yaml", "extends: base.yaml\ntraining: {steps: 20}\n")
        scratch.write("more.yaml", "training: {steps: 30, batch_size: 2}\n")
        let recipe = try scratch.load("extends: [sub/mid.yaml, more.yaml]\n")
        #expect(recipe.training.steps == 30 && recipe.training.batchSize == 2 && recipe.model.layers == 2)
    }

    @Test func cyclesAndMissingBasesAreRefused() {
        let scratch = Scratch()
        #expect(scratch.message("extends: r.yaml\n" + minimalRecipe).contains("cycle: r.yaml → r.yaml"))
        scratch.write("a.yaml", "extends: b.yaml\n")
        scratch.write("b.yaml", "extends: a.yaml\n")
        #expect(scratch.message("extends: a.yaml\n").contains("cycle: r.yaml → a.yaml → b.yaml → a.yaml"))
        let missing = scratch.message("extends: nowhere.yaml\n")
        #expect(missing.hasPrefix("r.yaml:1:10: extends:") && missing.contains("nowhere.yaml cannot be read"), "\(missing)")
    }

    @Test func plusAddsTildeDeletes() throws {
        let scratch = Scratch()
        let added = try scratch.load(minimalRecipe, overrides: ["+schedule.warmup_steps=3"])
        #expect(added.schedule.warmupSteps == 3)
        let twice = scratch.message(minimalRecipe, overrides: ["+training.steps=5"])
        #expect(twice.contains("already set (at ") && twice.hasPrefix("--set training.steps: + adds a value") && twice.contains("r.yaml:11:10"), "\(twice)")
        let deleted = try scratch.load(minimalRecipe + "schedule:\n  warmup_steps: 9\n", overrides: ["~schedule.warmup_steps"])
        #expect(deleted.schedule.warmupSteps == 20, "the default applies again")
        #expect(scratch.message(minimalRecipe, overrides: ["~optimizer.lr"]).contains("nothing to delete"))
        let noBatch = scratch.message(minimalRecipe, overrides: ["~training.batch_size"])
        #expect(noBatch.contains("training.batch_size: missing required key"), "\(noBatch)")
    }

    @Test func explainNamesWhereEachValueCameFrom() throws {
        let scratch = Scratch()
        scratch.write("base.yaml", minimalRecipe)
        let path = scratch.write("r.yaml", "extends: base.yaml\ntraining:\n  steps: 7\n")
        let lines = try Recipe.explain(path: path, overrides: ["optimizer.lr=0.5"])
        let byKey = Dictionary(lines.map { line in (String(line.prefix { $0 != " " }), line) }, uniquingKeysWith: { a, _ in a })
        #expect(byKey["training.steps"]?.hasSuffix("(\(path):3:10)") == true, "\(byKey["training.steps"] ?? "")")
        #expect(byKey["model.layers"]?.contains("base.yaml:3:11") == true, "\(byKey["model.layers"] ?? "")")
        #expect(byKey["optimizer.lr"]?.hasSuffix("(--set optimizer.lr)") == true)
        #expect(byKey["training.seed"]?.hasSuffix("(default)") == true)
    }
}
