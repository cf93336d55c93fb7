import Foundation
import HybridRecipe
import Testing

@Suite("Recipe decoding")
struct RecipeDecodingTests {
    static let fullRecipe = """
        device: cpu
        plugin_paths: [plugins, /opt/hybrid/plugins]
        model:
          d_model: 96
          layers: 3
          heads: 6
          seq_len: 128
          mlp_ratio: 2
          dropout: 0.0
          image_experts: true
        data:
          text:
            - corpus/*.txt
            - extra.txt
            - corpus/a.txt
          validation_fraction: 0.2
        objectives:
          - plugin: causal
            weight: 0.75
          - plugin: plugins/libhybrid-objective-masked.so
            name: masked
            weight: 0.25
            config:
              mask_rate: 0.15
              span: 3
        optimizer:
          name: adamw
          lr: 3e-4
          betas: [0.9, 0.99]
          eps: 1e-6
          weight_decay: 0.01
          grad_clip: 0
          moments: bfloat16
        schedule:
          name: constant
          warmup_steps: 0
          min_lr_ratio: 1
        training:
          steps: 500
          batch_size: 16
          seed: -7
          eval_every: 50
          eval_batches: 2
          log_every: 5
          output: out/full
        checkpoint:
          every: 100
          keep: 2
          resume: auto

        """

    @Test("a full recipe decodes to the expected values")
    func fullRecipe() throws {
        let scratch = Scratch()
        let recipe = try scratch.load(Self.fullRecipe)
        let dir = scratch.folder
        let maskConfig = try #require(try YAMLParser.parse("mask_rate: 0.15\nspan: 3\n", file: "expected"))
        let expected = Recipe(
            device: .cpu,
            pluginPaths: [RecipePath(written: "plugins", absolute: dir + "/plugins"),
                          RecipePath(written: "/opt/hybrid/plugins", absolute: "/opt/hybrid/plugins")],
            model: ModelConfig(dModel: 96, layers: 3, heads: 6, seqLen: 128, mlpRatio: 2, dropout: 0, imageExperts: true),
            data: DataConfig(text: ["corpus/*.txt", "extra.txt", "corpus/a.txt"],
                             textFiles: [dir + "/corpus/a.txt", dir + "/corpus/b.txt", dir + "/extra.txt"],
                             validationFraction: 0.2),
            objectives: [
                ObjectiveConfig(plugin: "causal", pluginPath: nil, name: "causal", weight: 0.75,
                                config: YAMLNode(.mapping([]), mark: Mark(file: "anywhere"))),
                ObjectiveConfig(plugin: "plugins/libhybrid-objective-masked.so",
                                pluginPath: dir + "/plugins/libhybrid-objective-masked.so", name: "masked",
                                weight: 0.25, config: maskConfig),
            ],
            optimizer: OptimizerConfig(name: .adamw, lr: 3e-4, beta1: 0.9, beta2: 0.99, eps: 1e-6, weightDecay: 0.01,
                                       gradClip: 0, moments: .bfloat16),
            schedule: ScheduleConfig(name: .constant, warmupSteps: 0, minLRRatio: 1),
            training: TrainingConfig(steps: 500, batchSize: 16, seed: -7, evalEvery: 50, evalBatches: 2, logEvery: 5,
                                     output: "out/full"),
            checkpoint: CheckpointConfig(every: 100, keep: 2, resume: .auto))
        #expect(recipe == expected)
        // The config keeps where it was written, for plugin config errors.
        #expect(recipe.objectives[1].config.mark.description == scratch.folder + "/r.yaml:24:7")
    }

    @Test("defaults fill every optional key")
    func defaults() throws {
        let scratch = Scratch()
        let recipe = try scratch.load(minimalRecipe)
        #expect(recipe.device == .auto)
        #expect(recipe.pluginPaths.isEmpty)
        #expect(recipe.model.mlpRatio == 4 && recipe.model.dropout == 0)
        #expect(recipe.data.validationFraction == 0.1)
        #expect(recipe.data.textFiles == [scratch.folder + "/corpus/a.txt", scratch.folder + "/corpus/b.txt"])
        #expect(recipe.objectives.count == 1)
        #expect(recipe.objectives[0].name == "causal" && recipe.objectives[0].weight == 1)
        #expect(recipe.objectives[0].config.entries == [])
        #expect(recipe.optimizer == OptimizerConfig(name: .adamw, lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8,
                                                    weightDecay: 0.1, gradClip: 1))
        #expect(recipe.schedule == ScheduleConfig(name: .cosine, warmupSteps: 20, minLRRatio: 0.1))
        #expect(recipe.training == TrainingConfig(steps: 10, batchSize: 4, seed: 1234, evalEvery: 100, evalBatches: 8,
                                                  logEvery: 10, output: "runs/r"))
        #expect(recipe.checkpoint == CheckpointConfig(every: 0, keep: 0, resume: .none))
    }

    @Test("numbers: floats take exponents, decimals and integers", arguments: [
        ("1e-3", Float(1e-3)), ("0.001", 0.001), ("1", 1), ("+2.5E-1", 0.25), (".5", 0.5),
    ])
    func floatForms(text: String, value: Float) throws {
        let recipe = try Scratch().load(minimalRecipe + "optimizer:\n  lr: \(text)\n")
        #expect(recipe.optimizer.lr == value)
    }

    @Test("an objective named by a path gets the library's name")
    func defaultNameForPath() {
        #expect(ObjectiveConfig.defaultName(forPlugin: "causal") == "causal")
        #expect(ObjectiveConfig.defaultName(forPlugin: "./build/libhybrid-objective-causal.so")
                    == "hybrid-objective-causal")
        #expect(ObjectiveConfig.defaultName(forPlugin: "/opt/denoise.dylib") == "denoise")
    }

    @Test("empty sections and configs mean their defaults")
    func emptyValues() throws {
        let recipe = try Scratch().load(minimalRecipe.replacingOccurrences(of: "  - plugin: causal",
                                                                           with: "  - plugin: causal\n    config:")
                                        + "schedule:\nplugin_paths:\n")
        #expect(recipe.schedule.name == .cosine)
        #expect(recipe.pluginPaths.isEmpty)
        #expect(recipe.objectives[0].config.entries == [])
    }

    @Test("anchors and aliases copy the anchored node")
    func aliases() throws {
        let recipe = try Scratch().load(minimalRecipe
            .replacingOccurrences(of: "  d_model: 64", with: "  d_model: &width 64")
            .replacingOccurrences(of: "  seq_len: 32", with: "  seq_len: *width"))
        #expect(recipe.model.seqLen == 64)
    }
}
