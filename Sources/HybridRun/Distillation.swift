import Foundation
import HybridRecipe
import HybridTrain

/// Progressive distillation: stage after stage, a student initialised from its teacher
/// learns to take half the teacher's DDIM steps, and each stage's student teaches the next.
/// The recipe's objective with a `teacher:` sets the first stage (its config teacher_steps N);
/// stage k trains a run of the same recipe with N/2^k student steps and writes
/// OUTPUT/student-<steps>.safetensors (metadata student_steps), down to `until` steps.
public struct Distillation {
    let recipe: String
    let overrides: [String]
    let until: Int
    let job: Job
    let log: (String) -> Void
    /// The objective with the teacher, its first teacher and its step count.
    let index: Int
    let firstTeacher: String
    let firstTeacherSteps: Int
    let output: String
    /// Overrides from the second stage on, when the teacher is the last student: whatever the
    /// objective assumes of its teacher (teacher_<key>, e.g. teacher_prediction) is then its own <key>.
    let asStudent: [String]

    public init(recipe: String, overrides: [String] = [], until: Int, job: Job = Job(), log: @escaping (String) -> Void) throws {
        let first = try Recipe.load(path: recipe, overrides: overrides)
        guard let index = first.objectives.firstIndex(where: { $0.teacher != nil }), let teacher = first.objectives[index].teacher else {
            throw TrainError("\(recipe): no objective has a teacher (objectives[i].teacher: a checkpoint to distil)")
        }
        let instance = try RunSetup.instances(for: first, file: recipe)[index]
        guard case .int(let teacherSteps) = instance.value(of: "teacher_steps") else {
            throw TrainError("\(recipe): objective \(first.objectives[index].name) (plugin \(instance.plugin.name)) has no teacher_steps setting to halve")
        }
        guard until < teacherSteps, teacherSteps % until == 0, (teacherSteps / until).nonzeroBitCount == 1 else {
            throw TrainError("--until \(until): the students halve \(teacherSteps) teacher steps, so expected \(teacherSteps / 2), \(teacherSteps / 4), … down to 1")
        }
        self.recipe = recipe
        self.overrides = overrides
        self.until = until
        self.job = job
        self.log = log
        self.index = index
        firstTeacher = teacher.absolute
        firstTeacherSteps = teacherSteps
        output = first.training.output
        asStudent = instance.teacherAssumptions.compactMap { key, _, teacherKey -> String? in
            guard key != "teacher_steps", let own = instance.value(of: teacherKey) else { return nil }
            return "objectives[\(index)].config.\(key)=\(own.recipeText)"
        }
    }

    /// Trains every stage (data-parallel under mpirun; rank 0 writes the students) and
    /// returns the students' paths, fewest steps last.
    @discardableResult
    public func run() throws -> [String] {
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        for path in AtomicFile.removeLeftovers(in: output) { log("removed \(path), a temporary file an interrupted write left") }
        var teacher = firstTeacher, teacherSteps = firstTeacherSteps
        var teacherIsStudent: [String] = []
        var students: [String] = []
        while teacherSteps > until {
            let studentSteps = teacherSteps / 2
            let stage = overrides + teacherIsStudent + [
                "objectives[\(index)].teacher=\(teacher)", "objectives[\(index)].config.teacher_steps=\(teacherSteps)",
                "training.init_from=\(teacher)", "training.output=\(output)/stage-\(studentSteps)",
            ]
            log("stage: \(teacherSteps) → \(studentSteps) steps, teacher \(teacher)")
            let run = try Run(recipe: recipe, overrides: stage, job: job, showProgress: true, log: log)
            run.trainer.extraMetadata = ["student_steps": String(studentSteps)]
            _ = try run.train(from: 0)
            let student = "\(output)/student-\(studentSteps).safetensors"
            if job.isLeader {
                guard let last = run.trainer.lastCheckpoint else { throw TrainError("stage \(studentSteps): no checkpoint was written") }
                try AtomicFile.write(try Data(contentsOf: URL(fileURLWithPath: last)), to: student)
            }
            // Every rank's next stage reads this student: wait until rank 0 has written it.
            try job.waitForAll()
            log("student \(student): \(studentSteps) steps, validation "
                + (run.trainer.evaluations.last.map { $0.results.map(Progress.describe).joined(separator: ", ") } ?? "-"))
            teacher = URL(fileURLWithPath: student).standardizedFileURL.path
            students.append(teacher)
            teacherSteps = studentSteps
            teacherIsStudent = asStudent
        }
        return students
    }
}
