import Foundation
import Testing

/// A plugin declares what each config key allows (ABI 1.5: choices, bounds), and the host
/// checks the recipe's value at its node, with the message every recipe key gets:
/// `file:line:col: objectives[N].config.KEY: expected …, found …` (and a did-you-mean for a
/// choice). What only the plugin's create can refuse is reported at the objective's config.
@Suite struct PluginConfigTests {
    /// `recipe check` of a tiny recipe whose objectives are `objectives`; its stderr.
    static func check(_ objectives: String, in dir: String, environment: [String: String] = [:]) throws -> (status: Int32, stderr: String, file: String) {
        let recipe = try CLI.tinyRecipe(in: dir, objectives: objectives)
        let r = try CLI.run(["recipe", "check", recipe], environment: environment)
        return (r.status, r.stderr, recipe)
    }

    @Test(arguments: [
        // masked: a bound and a choice
        ("  - plugin: masked\n    config: {rate: 1.5}\n", "7:20: objectives[0].config.rate: expected a number in (0, 1], found \"1.5\""),
        ("  - plugin: masked\n    config: {rate: high}\n", "7:20: objectives[0].config.rate: expected a number in (0, 1], found \"high\""),
        ("  - plugin: masked\n    config: {rate_schedule: linaer}\n",
         "7:29: objectives[0].config.rate_schedule: expected one of constant, linear, cosine, found \"linaer\"; did you mean `linear`?"),
        ("  - plugin: causal\n  - plugin: masked\n    config:\n      random_fraction: -0.1\n",
         "9:24: objectives[1].config.random_fraction: expected a number in [0, 1], found \"-0.1\""),
        // denoise and distill share the image model's keys
        ("  - plugin: denoise\n    config: {schedule: cosin}\n",
         "7:24: objectives[0].config.schedule: expected one of linear, cosine, found \"cosin\"; did you mean `cosine`?"),
        ("  - plugin: denoise\n    config: {label_drop: 2}\n", "7:26: objectives[0].config.label_drop: expected a number in [0, 1], found \"2\""),
        ("  - plugin: denoise\n    config: {sample_steps: 0}\n", "7:28: objectives[0].config.sample_steps: expected an integer >= 1, found \"0\""),
        ("  - plugin: distill\n    config: {teacher_steps: 1}\n", "7:29: objectives[0].config.teacher_steps: expected an integer >= 2, found \"1\""),
        ("  - plugin: distill\n    config: {teacher_prediction: epsilom}\n",
         "7:34: objectives[0].config.teacher_prediction: expected one of epsilon, v, found \"epsilom\"; did you mean `epsilon`?"),
    ])
    func aBundledPluginsKeyIsCheckedAtItsNode(objectives: String, message: String) throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try Self.check(objectives, in: dir)
        #expect(r.status == 65 && r.stderr.contains("\(r.file):\(message)"), "\(r.stderr)")
    }

    /// What spans keys or needs the model's sizes is the plugin's create's to say; the host
    /// puts it at the objective's config node.
    @Test func whatOnlyCreateCanRefuseIsReportedAtTheConfig() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let odd = try Self.check("  - plugin: distill\n    config: {teacher_steps: 5}\n", in: dir)
        #expect(odd.status == 65 && odd.stderr.contains("\(odd.file):7:13: objectives[0].config: the distill plugin refuses it: "
            + "config teacher_steps is 5; expected an even count ≥ 2"), "\(odd.stderr)")
        let sum = try Self.check("  - plugin: masked\n    config: {mask_fraction: 0.8, random_fraction: 0.3}\n", in: dir)
        #expect(sum.status == 65 && sum.stderr.contains("\(sum.file):7:13: objectives[0].config: the masked plugin refuses it: "
            + "config mask_fraction (0.8) and random_fraction (0.3) add up to more than 1"), "\(sum.stderr)")
    }

    /// The plain-C example declares its rule through the header's struct, like any C plugin.
    @Test func theCExamplesRuleIsCheckedLikeTheBundledOnes() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try MixtureTests.compile(CLI.root + "/Plugins/PrefixLMObjective/prefix_lm.c", name: "prefix_lm", into: dir)
        let env = ["HYBRID_PLUGIN_PATH": dir]
        let zero = try Self.check("  - plugin: prefix_lm\n    config: {prefix: 0}\n", in: dir, environment: env)
        #expect(zero.status == 65 && zero.stderr.contains("\(zero.file):7:22: objectives[0].config.prefix: expected an integer >= 1, found \"0\""), "\(zero.stderr)")
        let long = try Self.check("  - plugin: prefix_lm\n    config: {prefix: 40}\n", in: dir, environment: env)
        #expect(long.status == 65 && long.stderr.contains("\(long.file):7:13: objectives[0].config: the prefix_lm plugin refuses it: "
            + "config prefix is 40; expected less than seq_len (32)"), "\(long.stderr)")
        let listing = try CLI.run(["plugins"], environment: env)
        #expect(listing.stdout.contains("prefix: int = 32 (an integer >= 1)"), "\(listing.stdout)")
    }
}
