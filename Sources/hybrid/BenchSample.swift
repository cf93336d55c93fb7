import ArgumentParser
import Foundation
import HybridRecipe
import HybridRun
import HybridTrain

extension Bench {
    struct SampleBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sample",
            abstract: "Image samplers side by side: images/s and quality (Fréchet distances to the real images, classifier agreement with the asked labels or captions) for a teacher at DDPM and DDIM step counts, for distilled students and for a shortcut model.")

        @Option(help: "The teacher: a checkpoint with an image objective.")
        var teacher: String

        @Option(parsing: .upToNextOption, help: "Distilled students (hybrid distill's student-N.safetensors), each run at its own step count.")
        var students: [String] = []

        @Option(help: "A shortcut model (a checkpoint of the shortcut objective on the teacher's data), drawn at each of --shortcut-steps.")
        var shortcut: String?

        @Option(help: "The shortcut model's step counts, comma-separated (powers of two).")
        var shortcutSteps = "1,2,4"

        @Option(parsing: .unconditional, help: "Images per measurement (at least 1000 for the figures to mean much).")
        var images = 1000

        @Option(parsing: .unconditional, help: "The teacher's ancestral DDPM steps (its training levels).")
        var ddpmSteps = 1000

        @Option(help: "The teacher's DDIM step counts, comma-separated.")
        var ddim = "50,8,4"

        @Flag(help: "Draw without labels or captions and report the entropy of the predicted classes instead of agreement with what was asked.")
        var unconditional = false

        @Option(parsing: .unconditional, help: "Classifier-free guidance scale w for models trained with labels or captions (1: plain conditional; above 1 runs the model twice a step).")
        var guidance: Float = 1

        @Option(parsing: .unconditional, help: "Seed of the sampling noise (the same for every row).")
        var seed: UInt64 = 1

        @Option(parsing: .unconditional, help: "Training steps of the classifier (the data's labels) whose features the Fréchet distance compares.")
        var classifierSteps = 3000

        func validate() throws {
            guard images >= 10 else { throw ValidationError("--images must be at least 10, got \(images)") }
            guard guidance >= 0 else { throw ValidationError("--guidance must be at least 0, got \(guidance)") }
            guard ddpmSteps >= 1, classifierSteps >= 1 else { throw ValidationError("--ddpm-steps and --classifier-steps must be at least 1") }
            guard Self.counts(ddim) != nil else { throw ValidationError("--ddim \"\(ddim)\": expected step counts like 50,8,4") }
            guard Self.counts(shortcutSteps) != nil else { throw ValidationError("--shortcut-steps \"\(shortcutSteps)\": expected step counts like 1,2,4") }
        }

        /// "50,8,4" → [50, 8, 4]; nil unless every entry is a count ≥ 1.
        static func counts(_ list: String) -> [Int]? {
            let counts = list.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !counts.isEmpty, counts.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
            return counts.map { $0! }
        }

        func run() throws {
            try reportingFailures {
                let bench = try SamplerBenchmark(teacher: teacher, images: images, guidance: guidance, seed: seed, unconditional: unconditional,
                                                 classifierSteps: classifierSteps, log: { printError($0) })
                let quality = bench.quality, classes = quality.classes, validation = bench.validation
                say("classifier: held-out accuracy \(String(format: "%.1f%%", quality.heldOutAccuracy * 100)) on \(validation.count) images it never saw")
                say(String(format: "near copies: within %.2f (pixels, [-1, 1]) of a training image, as only 5%% of the %d held-out images are",
                           quality.copyRadius, validation.count))
                let rows = try bench.measure(ddpmSteps: ddpmSteps, ddim: Self.counts(ddim)!, students: students, shortcut: shortcut,
                                             shortcutSteps: Self.counts(shortcutSteps)!)
                let header = unconditional ? "class entropy (max \(String(format: "%.2f", log(Double(classes)))))" : "agreement"
                say("sampler              steps   images/s   Fréchet (features)   Fréchet (pixels)   near copies   \(header)")
                let perfect = quality.perfect(count: images)
                say(String(format: "real vs real (%d/%d)          -     %8.3f ± %.3f     %8.3f ± %.3f   (mean of %d random halvings)",
                           quality.baseline.sizes.0, quality.baseline.sizes.1, quality.baseline.features.mean, quality.baseline.features.spread,
                           quality.baseline.pixels.mean, quality.baseline.pixels.spread, quality.baseline.splits))
                say(String(format: "perfect, %d images          -     %14.3f     %14.3f   (real vs real scaled by 1/n₁ + 1/n₂ to %d vs %d)",
                           images, perfect.features, perfect.pixels, images, quality.realCount))
                let scores = rows.map(\.score)
                for (row, score) in zip(rows, scores) {
                    say(row.kind.rawValue.padding(toLength: 20, withPad: " ", startingAt: 0)
                        + String(format: "%6d %10.1f %14.3f     %14.3f        %5.1f%%      %8.3f", row.steps, row.imagesPerSecond, score.features,
                                 score.pixels, score.nearCopies * 100, score.agreement ?? score.entropy))
                }
                // Agreement per caption style, one line a sampler, where the captions carry styles.
                for (row, score) in zip(rows, scores) {
                    if let summary = row.conditions.styleSummary(score.agreed) { say("\(row.kind.rawValue) \(row.steps), agreement by caption style: " + summary) }
                }
                // The trade-off: each student and shortcut row against the teacher's DDPM, and against
                // the teacher's own DDIM at its step count where that was drawn.
                for s in rows.indices where rows[s].kind == .student || rows[s].kind == .shortcut {
                    for t in rows.indices where rows[t].kind == .teacherDDPM || (rows[t].kind == .teacherDDIM && rows[t].steps == rows[s].steps) {
                        say(String(format: "%@ %d vs %@ %d: Fréchet %.2f× (features), %.2f× (pixels); images/s %.1f×", rows[s].kind.rawValue, rows[s].steps,
                                   rows[t].kind.rawValue, rows[t].steps, scores[s].features / scores[t].features, scores[s].pixels / scores[t].pixels,
                                   rows[s].imagesPerSecond / rows[t].imagesPerSecond))
                    }
                }
            }
        }
    }
}
