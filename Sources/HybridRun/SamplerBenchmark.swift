import CHybridPlugin
import Foundation
import HybridEval
import HybridPlugins
import HybridTrain

/// Image samplers side by side (`hybrid bench sample`): a teacher at its DDPM count and at
/// DDIM counts, distilled students at their own counts, and a shortcut model at the counts
/// asked, each drawing the same number of
/// images from the same seed, timed, then scored against the teacher's real images by one
/// classifier trained on the data's labels.
public struct SamplerBenchmark {
    public let images: Int
    public let guidance: Float
    public let seed: UInt64
    public let unconditional: Bool
    public let teacher: CheckpointModel
    public let quality: ImageQuality
    public let validation: ImageSet
    /// The side of the real images, which every row draws.
    let side: Int
    /// `log` gets each device line and each row's time as it is drawn.
    let log: (String) -> Void

    /// A row's sampler; the raw value is its name in the table.
    public enum Kind: String { case teacherDDPM = "teacher DDPM", teacherDDIM = "teacher DDIM", student, shortcut }

    public struct Row {
        public let kind: Kind
        public let steps: Int
        public let imagesPerSecond: Double
        public let conditions: ScoringConditions
        public let score: ImageQuality.Score
    }

    /// Loads the teacher and trains the classifier (`classifierSteps`) on its recipe's images.
    public init(teacher path: String, images: Int, guidance: Float, seed: UInt64, unconditional: Bool, classifierSteps: Int,
                log: @escaping (String) -> Void) throws {
        let teacher = try CheckpointModel(path: path, log: log)
        guard let (train, validation) = try TrainingData.load(teacher.recipe.data).images else {
            throw TrainError("\(path): its recipe names no images to compare with")
        }
        quality = try ImageQuality(train: train, validation: validation, source: teacher.recipe.data.images?.absolute ?? path,
                                   classifierSteps: classifierSteps, backend: teacher.backend)
        side = train.side
        (self.images, self.guidance, self.seed, self.unconditional, self.teacher, self.validation, self.log) =
            (images, guidance, seed, unconditional, teacher, validation, log)
    }

    /// The teacher's rows (DDPM at `ddpmSteps`, DDIM at each of `ddim`), then each student's,
    /// then the shortcut model's (a checkpoint of the shortcut objective) at each of `shortcutSteps`.
    public func measure(ddpmSteps: Int, ddim: [Int], students: [String], shortcut: String? = nil, shortcutSteps: [Int] = []) throws -> [Row] {
        var rows = [try draw(teacher, .teacherDDPM, steps: ddpmSteps)]
        for steps in ddim { rows.append(try draw(teacher, .teacherDDIM, steps: steps)) }
        for path in students {
            let model = try CheckpointModel(path: path, log: log)
            guard let steps = model.contents.metadata["student_steps"].flatMap(Int.init) else {
                throw TrainError("\(path): no student_steps in its metadata; it was not written by hybrid distill")
            }
            rows.append(try draw(model, .student, steps: steps))
        }
        if let shortcut {
            let model = try CheckpointModel(path: shortcut, log: log)
            for steps in shortcutSteps { rows.append(try draw(model, .shortcut, steps: steps)) }
        }
        return rows
    }

    /// What each kind of row asks for: DDPM and DDIM by name; a shortcut model steps by its own rule.
    static func sampler(_ kind: Kind) -> hybrid_image_sampler {
        switch kind {
        case .teacherDDPM: HYBRID_SAMPLER_DDPM
        case .teacherDDIM, .student: HYBRID_SAMPLER_DDIM
        case .shortcut: HYBRID_SAMPLER_DEFAULT
        }
    }

    private func draw(_ model: CheckpointModel, _ kind: Kind, steps: Int) throws -> Row {
        let (name, sampler) = try model.imageSampler(count: images)
        let config = model.recipe.objectives.first { $0.name == name }!
        let conditions = ScoringConditions(objective: config, count: images, validation: validation, unconditional: unconditional)
        guard unconditional || conditions.expected != nil else {
            throw TrainError("\(model.path): objective \(name) draws without labels, or from captions the data gives no classes for; "
                             + "pass --unconditional, or name the class column (data.label_column)")
        }
        let started = ContinuousClock.now
        let pixels = try sampler.generate(ImageRequest(steps: steps, side: side, labels: conditions.requestLabels, captions: conditions.captions,
                                                       guidance: guidance, sampler: Self.sampler(kind)),
                                          seed: seed)
        let seconds = (ContinuousClock.now - started).inSeconds
        log("\(kind.rawValue): \(images) images in \(String(format: "%.1f", seconds)) s")
        return Row(kind: kind, steps: steps, imagesPerSecond: Double(images) / seconds, conditions: conditions,
                   score: try quality.score(pixels, count: images, labels: conditions.expected))
    }
}
