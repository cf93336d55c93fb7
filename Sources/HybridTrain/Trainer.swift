import Foundation
import HybridCore
import HybridRecipe

/// The training loop, top to bottom:
///
///     for each step:
///         zero gradients
///         for each objective: draw a batch, forward, backward (seeded with its weight)
///         clip the global gradient norm; AdamW with the scheduled learning rate
///         log; every eval_every steps validate; every checkpoint_every steps checkpoint
///
/// Objectives run one after another into the same gradient buffer, which is the same
/// gradient as one backward through their weighted sum.
public final class Trainer {
    public let setup: RunSetup
    public let corpus: TextCorpus
    let recipeText: String
    /// The recipe file's absolute path: relative paths inside `recipeText` start from its folder.
    let recipePath: String
    let outputFolder: String
    let progress: Progress
    private var validationBatches: [[ObjectiveSession.FixedBatch]] = []

    public struct Evaluation: Sendable {
        public var step: Int
        /// Mean validation loss (nats per predicted byte) per objective, in recipe order.
        public var losses: [(name: String, loss: Float)]
    }

    public private(set) var evaluations: [Evaluation] = []
    public private(set) var lastCheckpoint: String?

    public init(setup: RunSetup, corpus: TextCorpus, recipeText: String, recipePath: String, outputFolder: String, progress: Progress) throws {
        self.setup = setup
        self.corpus = corpus
        self.recipeText = recipeText
        self.recipePath = URL(fileURLWithPath: recipePath).standardizedFileURL.path
        self.outputFolder = outputFolder
        self.progress = progress
        // Validation batches are drawn once, from their own stream, so every evaluation
        // (and every run with the same seed) scores the same text.
        var stream = RandomStream(seed: UInt64(bitPattern: Int64(setup.recipe.training.seed)), stream: RandomStream.streamID("validation"))
        for session in setup.sessions {
            validationBatches.append(try (0..<setup.recipe.training.evalBatches).map { _ in
                try session.fixedBatch(from: corpus.validation, stream: &stream)
            })
        }
    }

    public var schedule: LearningRateSchedule {
        let recipe = setup.recipe
        return LearningRateSchedule(
            peak: Double(recipe.optimizer.lr), warmupSteps: recipe.schedule.warmupSteps,
            minRatio: Double(recipe.schedule.minLRRatio), totalSteps: recipe.training.steps,
            shape: recipe.schedule.name == .cosine ? .cosine : .constant)
    }

    /// Positions the backbone processes per step, over all objectives.
    public var positionsPerStep: Int { setup.sessions.reduce(0) { $0 + $1.positionsPerStep } }

    /// Draws every objective's next batch (the data side of a step).
    public func loadBatches(step: Int) throws {
        for session in setup.sessions {
            do { try session.loadBatch(from: corpus.train) } catch {
                throw TrainError("step \(step + 1): objective \(session.name): \(error)")
            }
        }
    }

    public struct StepResult: Sendable {
        public var losses: [Float]
        public var gradNorm: Double
        public var learningRate: Double
    }

    /// The compute side of 0-based step `step`: forward and backward of every objective,
    /// clipping, AdamW.
    public func computeStep(_ step: Int) throws -> StepResult {
        let recipe = setup.recipe
        let parameters = setup.parameters
        let backend = setup.backend
        parameters.zeroGradients()
        let losses = setup.sessions.map { $0.trainStep() }
        guard losses.allSatisfy(\.isFinite) else {
            throw TrainError("step \(step + 1): the loss is not finite (\(losses)); stopping before the parameters are damaged further")
        }
        let norm = backend.gradientNorm(parameters)
        let clip = Double(recipe.optimizer.gradClip)
        if clip > 0, norm > clip { backend.scaleGradients(parameters, by: Float(clip / norm)) }
        let lr = schedule(step)
        backend.adamwStep(parameters, settings: AdamWSettings(
            learningRate: Float(lr), beta1: recipe.optimizer.beta1, beta2: recipe.optimizer.beta2,
            eps: recipe.optimizer.eps, weightDecay: recipe.optimizer.weightDecay), step: step + 1)
        return StepResult(losses: losses, gradNorm: norm, learningRate: lr)
    }

    public func run() throws {
        let training = setup.recipe.training
        try FileManager.default.createDirectory(atPath: outputFolder, withIntermediateDirectories: true)
        progress.start(total: training.steps, objectives: setup.sessions.map(\.name))
        evaluate(step: 0)
        for step in 0..<training.steps {
            let started = ContinuousClock.now
            try loadBatches(step: step)
            let result = try computeStep(step)
            progress.step(step + 1, losses: result.losses, learningRate: result.learningRate, gradNorm: result.gradNorm,
                          positions: positionsPerStep, seconds: (ContinuousClock.now - started).seconds)
            let done = step + 1
            if done % training.evalEvery == 0 || done == training.steps { evaluate(step: done) }
            if done == training.steps || (training.checkpointEvery > 0 && done % training.checkpointEvery == 0) {
                try checkpoint(step: done)
            }
        }
        progress.finish()
    }

    private func evaluate(step: Int) {
        var results: [(String, Float)] = []
        for (session, batches) in zip(setup.sessions, validationBatches) {
            let total = batches.reduce(Float(0)) { $0 + session.evaluate($1) }
            results.append((session.name, total / Float(batches.count)))
        }
        let evaluation = Evaluation(step: step, losses: results)
        evaluations.append(evaluation)
        progress.evaluation(evaluation)
    }

    private func checkpoint(step: Int) throws {
        let path = "\(outputFolder)/checkpoint-\(String(format: "%06d", step)).safetensors"
        try Checkpoint.write(setup.parameters, metadata: ["recipe": recipeText, "recipe_path": recipePath, "step": String(step)], to: path)
        try AtomicFile.write(Data(recipeText.utf8), to: "\(outputFolder)/recipe.yaml")
        lastCheckpoint = path
        progress.note("checkpoint \(path)")
    }
}

extension Duration {
    var seconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) * 1e-18
    }
}
