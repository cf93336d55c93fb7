import ArgumentParser
import HybridRun

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
    private func distill(_ job: Job) throws {
        try Distillation(recipe: recipe, overrides: overrides, until: until, job: job, log: Distributed.log(job)).run()
    }
}
