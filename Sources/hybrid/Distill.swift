import ArgumentParser
import Foundation
import HybridCore
import HybridPlugins
import HybridRecipe
import HybridRun
import HybridTrain

struct Distill: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Progressive distillation: stage after stage, a student initialised from its teacher learns to take half the teacher's DDIM steps; each stage's student teaches the next.",
        discussion: """
        The recipe's objective with a `teacher:` checkpoint (the distill plugin) sets the first stage: its \
        config teacher_steps N. Stage k trains a student for N/2^k steps, starting from its teacher's weights, \
        and writes OUTPUT/student-<steps>.safetensors (metadata student_steps), until --until steps.
        """)

    @Argument(help: "The recipe (YAML): an objective with a teacher, e.g. recipes/distill-digits.yaml.")
    var recipe: String

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a recipe value (every stage).", valueName: "key.path=value"))
    var overrides: [String] = []

    @Option(parsing: .unconditional, help: "The step count of the last student.")
    var until = 1

    func validate() throws {
        guard until >= 1 else { throw ValidationError("--until must be at least 1, got \(until)") }
    }
    func run() throws {
        try Distributed.command(distill)
    }

    /// Under mpirun every stage trains data-parallel; rank 0 writes the students.
    private func distill(_ communicator: Communicator) throws {
        let say = Distributed.log(communicator)
        let leader = communicator.rank == 0
        let first = try Recipe.load(path: recipe, overrides: overrides)
        guard let index = first.objectives.firstIndex(where: { $0.teacher != nil }), let firstTeacher = first.objectives[index].teacher else {
            throw TrainError("\(recipe): no objective has a teacher (objectives[i].teacher: a checkpoint to distil)")
        }
        let instance = try RunSetup.instances(for: first, file: recipe)[index]
        guard case .int(var teacherSteps) = instance.value(of: "teacher_steps") else {
            throw TrainError("\(recipe): objective \(first.objectives[index].name) (plugin \(instance.plugin.name)) has no teacher_steps setting to halve")
        }
        guard until < teacherSteps, teacherSteps % until == 0, (teacherSteps / until).nonzeroBitCount == 1 else {
            throw TrainError("--until \(until): the students halve \(teacherSteps) teacher steps, so expected \(teacherSteps / 2), \(teacherSteps / 4), … down to 1")
        }
        let output = first.training.output
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        for path in AtomicFile.removeLeftovers(in: output) { say("removed \(path), a temporary file an interrupted write left") }
        // From the second stage on, the teacher is the last student: whatever the objective
        // assumes of its teacher (teacher_<key>, e.g. teacher_prediction) is then its own <key>.
        let asStudent = instance.teacherAssumptions.compactMap { key, _, teacherKey -> String? in
            guard key != "teacher_steps", let own = instance.value(of: teacherKey) else { return nil }
            return "objectives[\(index)].config.\(key)=\(own.recipeText)"
        }
        var teacher = firstTeacher.absolute
        var teacherIsStudent: [String] = []
        while teacherSteps > until {
            let studentSteps = teacherSteps / 2
            let stage = overrides + teacherIsStudent + [
                "objectives[\(index)].teacher=\(teacher)", "objectives[\(index)].config.teacher_steps=\(teacherSteps)",
                "training.init_from=\(teacher)", "training.output=\(output)/stage-\(studentSteps)",
            ]
            say("stage: \(teacherSteps) → \(studentSteps) steps, teacher \(teacher)")
            let loaded = try Recipe.load(path: recipe, overrides: stage)
            let backend = try BackendChoice.make(loaded.device, precision: loaded.precision, recompute: loaded.training.recompute, localRank: Distributed.localRank(communicator), log: say)
            let progress = Distributed.progress(communicator, logEvery: loaded.training.logEvery)
            let setup = try RunSetup(recipe: loaded, file: recipe, backend: backend, shards: communicator.rank..<(communicator.rank + 1),
                                     log: { progress.note($0) })
            let data = try TrainingData.load(loaded.data)
            try DataParallel.checkAgreement(recipeText: loaded.yamlText(), setup: setup, data: data, communicator: communicator)
            let trainer = try Trainer(setup: setup, data: data, recipeText: loaded.yamlText(),
                                      recipePath: recipe, outputFolder: loaded.training.output, progress: progress, communicator: communicator)
            trainer.extraMetadata = ["student_steps": String(studentSteps)]
            try trainer.run()
            let student = "\(output)/student-\(studentSteps).safetensors"
            if leader {
                guard let last = trainer.lastCheckpoint else { throw TrainError("stage \(studentSteps): no checkpoint was written") }
                try AtomicFile.write(try Data(contentsOf: URL(fileURLWithPath: last)), to: student)
            }
            // Every rank's next stage reads this student: wait until rank 0 has written it.
            _ = try communicator.allreduceSum([0])
            say("student \(student): \(studentSteps) steps, validation " + (trainer.evaluations.last.map { $0.results.map(Progress.describe).joined(separator: ", ") } ?? "-"))
            teacher = URL(fileURLWithPath: student).standardizedFileURL.path
            teacherSteps = studentSteps
            teacherIsStudent = asStudent
        }
    }
}
