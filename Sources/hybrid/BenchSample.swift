import ArgumentParser
import CHybridPlugin
import Foundation
import HybridCore
import HybridPlugins
import HybridRecipe
import HybridTrain

extension Bench {
    struct SampleBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sample",
            abstract: "Image samplers side by side: images/s and quality (Fréchet distances to the real digits, classifier agreement) for a teacher at DDPM and DDIM step counts and for distilled students.")

        @Option(help: "The teacher: a checkpoint with an image objective.")
        var teacher: String

        @Option(parsing: .upToNextOption, help: "Distilled students (hybrid distill's student-N.safetensors), each run at its own step count.")
        var students: [String] = []

        @Option(help: "Images per measurement (at least 1000 for the figures to mean much).")
        var images = 1000

        @Option(help: "The teacher's ancestral DDPM steps (its training levels).")
        var ddpmSteps = 1000

        @Option(help: "The teacher's DDIM step counts, comma-separated.")
        var ddim = "50,8,4"

        @Flag(help: "Draw without labels and report the entropy of the predicted classes instead of agreement with the asked labels.")
        var unconditional = false

        @Option(help: "Seed of the sampling noise (the same for every row).")
        var seed: UInt64 = 1

        func validate() throws {
            guard images >= 10 else { throw ValidationError("--images must be at least 10, got \(images)") }
            guard ddpmSteps >= 1 else { throw ValidationError("--ddpm-steps must be at least 1") }
            guard (try? ddimCounts()) != nil else { throw ValidationError("--ddim \"\(ddim)\": expected step counts like 50,8,4") }
        }

        func ddimCounts() throws -> [Int] {
            let counts = ddim.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard counts.allSatisfy({ ($0 ?? 0) > 0 }) else { throw ValidationError("bad --ddim") }
            return counts.map { $0! }
        }

        struct Row { let name: String; let steps: Int; let imagesPerSecond: Double; let pixels: [Float] }

        func run() throws {
            try reportingFailures {
                let teacherModel = try CheckpointModel(path: teacher)
                guard let (train, validation) = try TrainingData.load(teacherModel.recipe.data).images else {
                    throw TrainError("\(teacher): its recipe names no images to compare with")
                }
                let real = ImageSet(pixels: train.pixels + validation.pixels, labels: train.labels + validation.labels, side: train.side)
                let classes = Int(real.labels.max() ?? 0) + 1
                let classifier = try DigitClassifier(training: train, classes: classes, backend: teacherModel.backend)
                say("classifier: held-out accuracy \(String(format: "%.1f%%", try classifier.accuracy(on: validation) * 100)) on \(validation.count) digits it never saw")
                let side = real.side, n = side * side
                let labels: [Int32]? = unconditional ? nil : (0..<images).map { Int32($0 % classes) }

                var rows: [Row] = []
                func draw(_ model: CheckpointModel, name: String, steps: Int, sampler: hybrid_image_sampler) throws {
                    let imageSampler = try model.imageSampler(count: images).sampler
                    let started = ContinuousClock.now
                    let pixels = try imageSampler.generate(ImageRequest(steps: steps, side: side, labels: labels, sampler: sampler), seed: seed)
                    let seconds = (ContinuousClock.now - started).inSeconds
                    rows.append(Row(name: name, steps: steps, imagesPerSecond: Double(images) / seconds, pixels: pixels))
                    printError("\(name): \(images) images in \(String(format: "%.1f", seconds)) s")
                }
                try draw(teacherModel, name: "teacher DDPM", steps: ddpmSteps, sampler: HYBRID_SAMPLER_DDPM)
                for steps in try ddimCounts() { try draw(teacherModel, name: "teacher DDIM", steps: steps, sampler: HYBRID_SAMPLER_DDIM) }
                for path in students {
                    let model = try CheckpointModel(path: path)
                    guard let steps = model.contents.metadata["student_steps"].flatMap(Int.init) else {
                        throw TrainError("\(path): no student_steps in its metadata; it was not written by hybrid distill")
                    }
                    try draw(model, name: "student", steps: steps, sampler: HYBRID_SAMPLER_DDIM)
                }

                // Quality against every real digit. The real-vs-real line compares two disjoint
                // halves drawn at random (the file's order follows its writers, so its own halves
                // would measure a shift between people, not what sampling noise alone gives).
                let realJudged = try classifier.judge(real.pixels, count: real.count)
                let F = DigitClassifier.featureCount
                var order = Array(0..<real.count), stream = RandomStream(seed: 1, stream: RandomStream.streamID("real-halves"))
                for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, stream.below(i + 1)) }
                let halves = [order[..<(real.count / 2)], order[(real.count / 2)...]]
                func pick(_ values: [Float], _ width: Int, _ indices: ArraySlice<Int>) -> [Float] {
                    indices.flatMap { values[($0 * width)..<(($0 + 1) * width)] }
                }
                let baselineFeatures = try Frechet.distance(pick(realJudged.features, F, halves[0]), count: halves[0].count,
                                                            pick(realJudged.features, F, halves[1]), count: halves[1].count, n: F)
                let baselinePixels = try Frechet.distance(pick(real.pixels, n, halves[0]), count: halves[0].count,
                                                          pick(real.pixels, n, halves[1]), count: halves[1].count, n: n)
                let half = halves[0].count
                let quality = unconditional ? "class entropy (max \(String(format: "%.2f", log(Double(classes)))))" : "agreement"
                say("sampler              steps   images/s   Fréchet (features)   Fréchet (pixels)   \(quality)")
                say(String(format: "real vs real (%d/%d)          -     %14.3f     %14.3f", half, real.count - half, baselineFeatures, baselinePixels))
                for row in rows {
                    let judged = try classifier.judge(row.pixels, count: images)
                    let features = try Frechet.distance(judged.features, count: images, realJudged.features, count: real.count, n: F)
                    let pixels = try Frechet.distance(row.pixels, count: images, real.pixels, count: real.count, n: n)
                    let score: Double
                    if let labels {
                        score = Double(zip(judged.predictions, labels).filter { $0 == Int($1) }.count) / Double(images)
                    } else {
                        var histogram = [Double](repeating: 0, count: classes)
                        for p in judged.predictions { histogram[p] += 1 }
                        score = -histogram.reduce(0.0) { $1 > 0 ? $0 + $1 / Double(images) * log($1 / Double(images)) : $0 }
                    }
                    say(row.name.padding(toLength: 20, withPad: " ", startingAt: 0)
                        + String(format: "%6d %10.1f %14.3f     %14.3f       %8.3f", row.steps, row.imagesPerSecond, features, pixels, score))
                }
            }
        }
    }
}
