import Foundation
import HybridCore
import HybridRecipe

/// The training loop, top to bottom:
///
///     for each step:
///         pick the objectives (mixing: sum → all; sample → one, weights as probabilities)
///         zero gradients
///         for each picked objective: draw a batch, forward, backward
///         clip the global gradient norm; AdamW with the scheduled learning rate
///         log; every eval_every steps validate; every checkpoint.every steps checkpoint
///
/// Summed objectives run one after another into the same gradient buffer, each backward
/// seeded with its weight: the same gradient as one backward through the weighted sum.
///
/// Data-parallel (`communicator.size` > 1): every rank runs this loop on its own data shard;
/// after the backwards the flat gradient buffer is averaged over the ranks in one call, so
/// clipping and AdamW see the same gradient everywhere and the ranks stay bit-identical.
/// Rank 0 alone logs, evaluates and writes checkpoints.
public final class Trainer {
    public let setup: RunSetup
    public let data: TrainingData
    let recipeText: String
    /// The recipe file's absolute path: relative paths inside `recipeText` start from its folder.
    let recipePath: String
    let outputFolder: String
    let progress: Progress
    public let communicator: Communicator
    /// Rank 0 of a data-parallel run (or the only process) logs, evaluates and checkpoints.
    var isLeader: Bool { communicator.rank == 0 }
    private var validationBatches: [[ObjectiveSession.FixedBatch]] = []
    /// Draws the objective of each step under `mixing: sample`.
    private var mixingStream: RandomStream

    public struct Evaluation: Sendable {
        public var step: Int
        /// Per objective, in recipe order: mean validation loss (text: nats per scored byte;
        /// images: the objective's MSE) and, for text, the fraction of scored bytes predicted
        /// right (argmax).
        public var results: [(name: String, loss: Float, accuracy: Double?)]
    }

    public private(set) var evaluations: [Evaluation] = []
    public private(set) var lastCheckpoint: String?
    private var metrics: MetricsLog?

    /// More checkpoint metadata (e.g. a distilled student's step count).
    public var extraMetadata: [String: String] = [:]

    public init(setup: RunSetup, data: TrainingData, recipeText: String, recipePath: String, outputFolder: String, progress: Progress,
                communicator: Communicator = SingleProcess()) throws {
        self.setup = setup
        self.communicator = communicator
        self.data = data
        self.recipeText = recipeText
        self.recipePath = URL(fileURLWithPath: recipePath).standardizedFileURL.path
        self.outputFolder = outputFolder
        self.progress = progress
        let seed = UInt64(bitPattern: Int64(setup.recipe.training.seed))
        mixingStream = RandomStream(seed: seed, stream: RandomStream.streamID("mixing"))
        // Validation batches are drawn once, from their own stream, so every evaluation
        // (and every run with the same seed) scores the same text.
        var stream = RandomStream(seed: seed, stream: RandomStream.streamID("validation"))
        for session in setup.sessions {
            validationBatches.append(try (0..<setup.recipe.training.evalBatches).map { _ in
                try session.fixedBatch(from: data, stream: &stream)
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

    /// Positions the backbone processes per step when every objective runs.
    public var positionsPerStep: Int { setup.sessions.reduce(0) { $0 + $1.positionsPerStep } }

    /// The fraction of the run done before 0-based `step`.
    func progress(_ step: Int) -> Float { Float(step) / Float(setup.recipe.training.steps) }

    /// The objectives' weights at 0-based `step`, following their schedules.
    public func weights(_ step: Int) -> [Float] { setup.sessions.map { $0.weight(at: progress(step)) } }

    /// The objectives that run at `step`: under `sum` every one whose weight is above 0;
    /// under `sample` one, drawn with the weights as probabilities (UL2's mixture of
    /// denoisers).
    public func pickObjectives(step: Int) -> [Int] {
        let weights = weights(step)
        let live = weights.indices.filter { weights[$0] > 0 }
        switch setup.recipe.mixing {
        case .sum:
            return live
        case .sample:
            var u = mixingStream.uniform() * live.reduce(Float(0)) { $0 + weights[$1] }
            for i in live {
                u -= weights[i]
                if u < 0 { return [i] }
            }
            return live.last.map { [$0] } ?? []
        }
    }

    /// Draws the next batch of each of `objectives` (the data side of a step).
    public func loadBatches(_ objectives: [Int], step: Int) throws {
        for i in objectives {
            let session = setup.sessions[i]
            do { try session.loadBatch(from: data, progress: progress(step)) } catch {
                throw TrainError("step \(step + 1): objective \(session.name): \(error)")
            }
        }
    }

    public struct StepResult: Sendable {
        /// Per objective in recipe order; nil for one that did not run this step.
        public var losses: [Float?]
        public var gradNorm: Double
        public var learningRate: Double
        /// Positions the backbone processed on this rank.
        public var positions: Int
        /// Some rank asked to stop after this step (every rank gets the same answer).
        public var stop = false
        /// Seconds this rank spent in the step's collectives (0 on one process).
        public var communicationSeconds = 0.0
    }

    /// The compute side of 0-based step `step`: forward and backward of `objectives`, the
    /// gradient all-reduce when data-parallel, clipping, AdamW. `stopRequested`, asked after
    /// the backwards, is this rank's wish to stop after the step; the result says whether any
    /// rank had it, so every rank stops after the same step.
    public func computeStep(_ step: Int, objectives: [Int], stopRequested: @autoclosure () -> Bool = false) throws -> StepResult {
        let recipe = setup.recipe
        let parameters = setup.parameters
        let backend = setup.backend
        let ranks = communicator.size
        var communication = Duration.zero
        func communicating<T>(_ body: () throws -> T) rethrows -> T {
            let start = ContinuousClock.now
            defer { communication += ContinuousClock.now - start }
            return try body()
        }
        parameters.zeroGradients()
        // Each objective's loss over all ranks' rows is Σ_r S_r / max(W, 1) (S_r: rank r's
        // weighted sum, W: the total weight); a rank's own loss is S_r / max(W_r, 1). Seeding
        // its backward with its share of the batch, share_r = max(W_r, 1)/max(W, 1) (1/N for a
        // loss without row weights), makes the sum of the ranks' gradients — the all-reduce —
        // the whole batch's mean gradient, so N ranks × B equal one process × N·B.
        var shares = [Double](repeating: 1, count: setup.sessions.count)
        if ranks > 1 {
            let sums = objectives.map { setup.sessions[$0].lossWeightSum() }
            let totals = try communicating { try communicator.allreduceSum(sums.map { $0 ?? 0 }) }
            for (k, i) in objectives.enumerated() {
                shares[i] = sums[k].map { max($0, 1) / max(totals[k], 1) } ?? 1 / Double(ranks)
            }
        }
        var losses = [Float?](repeating: nil, count: setup.sessions.count)
        let weights = weights(step)
        for i in objectives {
            let session = setup.sessions[i]
            let loss = session.trainStep(seed: (recipe.mixing == .sum ? weights[i] : 1) * Float(shares[i]))
            guard loss.isFinite else {
                throw TrainError("step \(step + 1): objective \(session.name): the loss is \(loss); stopping before the parameters are damaged further")
            }
            losses[i] = loss
        }
        var stop = stopRequested()
        if ranks > 1 {
            try communicating { try communicator.allreduceSum(parameters.gradients!, count: parameters.count) }
            // The whole batch's losses (Σ_r L_r·share_r) and whether any rank wants to stop.
            let local = objectives.map { Double(losses[$0]!) * shares[$0] } + [stop ? 1 : 0]
            let global = try communicating { try communicator.allreduceSum(local) }
            for (k, i) in objectives.enumerated() { losses[i] = Float(global[k]) }
            stop = global.last! > 0
        }
        let norm = backend.gradientNorm(parameters)
        let clip = Double(recipe.optimizer.gradClip)
        if clip > 0, norm > clip { backend.scaleGradients(parameters, by: Float(clip / norm)) }
        let lr = schedule(step)
        backend.adamwStep(parameters, settings: AdamWSettings(
            learningRate: Float(lr), beta1: recipe.optimizer.beta1, beta2: recipe.optimizer.beta2,
            eps: recipe.optimizer.eps, weightDecay: recipe.optimizer.weightDecay), step: step + 1)
        let positions = objectives.reduce(0) { $0 + setup.sessions[$1].positionsPerStep }
        return StepResult(losses: losses, gradNorm: norm, learningRate: lr, positions: positions, stop: stop,
                          communicationSeconds: communication.inSeconds)
    }

    /// How a run ended.
    public enum Outcome: Equatable, Sendable {
        case finished
        /// Stopped early (a signal, `--stop-after`) with a checkpoint after `step` steps.
        case stopped(step: Int)
    }

    /// Restores a checkpoint written by this trainer's `checkpoint(step:)` — weights, both
    /// AdamW moments and every random stream — and returns the steps it had done.
    public func restore(_ contents: Checkpoint.Contents, path: String) throws -> Int {
        guard let text = contents.metadata["step"], let step = Int(text), step >= 0 else {
            throw TrainError("\(path): the checkpoint's metadata has no step")
        }
        guard step < setup.recipe.training.steps else {
            throw TrainError("\(path): the run already did \(step) of its \(setup.recipe.training.steps) steps; raise training.steps to go on")
        }
        try Checkpoint.load(contents, into: setup.parameters, path: path)
        try Checkpoint.loadOptimizer(contents, into: setup.parameters, path: path)
        func state(_ key: String) -> UInt64? { contents.metadata[key].flatMap { UInt64($0, radix: 16) } }
        func missing(_ key: String) -> TrainError {
            TrainError("\(path): the checkpoint's metadata lacks the random stream \(key); it cannot resume this run")
        }
        guard let mixing = state("stream/mixing") else { throw missing("stream/mixing") }
        mixingStream = RandomStream(state: mixing)
        // A shard the checkpoint lacks (the run now has more ranks) starts its own stream.
        for session in setup.sessions {
            for shard in session.shardIndices {
                let key = "stream/" + ObjectiveSession.streamName(session.name, shard: shard)
                if let value = state(key) { session.setStreamState(shard: shard, value) } else if shard == 0 { throw missing(key) }
            }
        }
        // Which shards of the whole run are new, and which of the checkpoint's no rank draws now.
        let drawn = communicator.size * (setup.sessions.first?.shardIndices.count ?? 1)
        let saved = Set(contents.metadata.keys.compactMap { key -> Int? in
            guard key.hasPrefix("stream/objective/") else { return nil }
            guard let range = key.range(of: "/shard", options: .backwards) else { return 0 }
            return Int(key[range.upperBound...])
        })
        let fresh = (0..<drawn).filter { !saved.contains($0) }
        let unused = saved.filter { $0 >= drawn }
        if !unused.isEmpty, isLeader {
            progress.note("not drawn by this run: data shard\(unused.count > 1 ? "s" : "") \(unused.sorted().map(String.init).joined(separator: ", ")) of the checkpoint (it was written by a run with more ranks)")
        }
        if !fresh.isEmpty, isLeader {
            progress.note("data shard\(fresh.count > 1 ? "s" : "") \(fresh.sorted().map(String.init).joined(separator: ", ")) start\(fresh.count > 1 ? "" : "s") a fresh stream: the checkpoint was written by a run with fewer ranks")
        }
        return step
    }

    /// Every random stream's state by metadata key, gathered from every rank's shards.
    private func streamStates() throws -> [String: String] {
        var result = ["stream/mixing": String(mixingStream.state, radix: 16)]
        for session in setup.sessions {
            // Each rank's shards as (index, state) pairs of 64-bit words.
            let mine = session.shardIndices.flatMap { [UInt64($0), session.streamState(shard: $0)] }
                .flatMap { withUnsafeBytes(of: $0.littleEndian) { Array($0) } }
            for bytes in try communicator.allgather(mine) {
                let words = bytes.withUnsafeBytes { raw in (0..<(raw.count / 8)).map { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)) } }
                for k in stride(from: 0, to: words.count, by: 2) {
                    result["stream/" + ObjectiveSession.streamName(session.name, shard: Int(words[k]))] = String(words[k + 1], radix: 16)
                }
            }
        }
        return result
    }

    /// Trains from step `start` (0, or what `restore` returned) to `training.steps`, or until
    /// this call has done `stopAfter` steps or `stopRequested()` says so after a step; a stop
    /// writes a checkpoint first.
    @discardableResult
    public func run(from start: Int = 0, stopAfter: Int? = nil, stopRequested: () -> Bool = { false }) throws -> Outcome {
        let training = setup.recipe.training
        if isLeader {
            try FileManager.default.createDirectory(atPath: outputFolder, withIntermediateDirectories: true)
            for path in AtomicFile.removeLeftovers(in: outputFolder) {
                progress.note("removed \(path), a temporary file an interrupted write left")
            }
            metrics = try MetricsLog(folder: outputFolder, resumingAfter: start > 0 ? start : nil)
        }
        let names = setup.sessions.map(\.name)
        progress.start(total: training.steps, objectives: names)
        // Rank 0 alone evaluates: the ranks hold the same parameters.
        if start == 0 { if isLeader { try evaluate(step: 0) } } else { progress.note("resuming after step \(start)") }
        for step in start..<training.steps {
            let started = ContinuousClock.now
            let objectives = pickObjectives(step: step)
            try loadBatches(objectives, step: step)
            // --stop-after and signals ride on the step's all-reduce: ranks given other
            // --stop-after values still stop together.
            let result = try computeStep(step, objectives: objectives, stopRequested: step + 1 - start == stopAfter || stopRequested())
            let seconds = (ContinuousClock.now - started).inSeconds
            // Positions and tokens/s of the whole job (every rank's shard).
            let positions = result.positions * communicator.size
            progress.step(step + 1, losses: result.losses, learningRate: result.learningRate, gradNorm: result.gradNorm,
                          positions: positions, seconds: seconds)
            let done = step + 1
            if done % training.logEvery == 0 || done == training.steps {
                try metrics?.train(step: done, names: names, losses: result.losses, learningRate: result.learningRate,
                                   tokensPerSecond: Double(positions) / max(seconds, 1e-9), gradNorm: result.gradNorm)
            }
            if isLeader, done % training.evalEvery == 0 || done == training.steps { try evaluate(step: done) }
            let stop = done < training.steps && result.stop
            let every = setup.recipe.checkpoint.every
            if done == training.steps || stop || (every > 0 && done % every == 0) {
                try checkpoint(step: done)
            }
            if stop {
                progress.finish()
                return .stopped(step: done)
            }
        }
        progress.finish()
        return .finished
    }

    /// Scores every objective on the run's fixed validation batches (drawn once from the seed).
    @discardableResult
    public func evaluate(step: Int) throws -> Evaluation {
        var results: [(String, Float, Double?)] = []
        for (session, batches) in zip(setup.sessions, validationBatches) {
            let scores = batches.map(session.evaluate)
            let loss = scores.reduce(Float(0)) { $0 + $1.loss } / Float(batches.count)
            let scored = scores.reduce(0) { $0 + $1.scored }
            let accuracy = session.isText ? (scored > 0 ? scores.reduce(0) { $0 + $1.correct } / scored : 0) : nil
            results.append((session.name, loss, accuracy))
        }
        let evaluation = Evaluation(step: step, results: results)
        evaluations.append(evaluation)
        progress.evaluation(evaluation)
        try metrics?.evaluation(evaluation)
        return evaluation
    }

    /// Writes a checkpoint on rank 0; collective in a data-parallel run (the streams of every
    /// rank's shards are gathered, and the ranks' states are checked to be identical first).
    private func checkpoint(step: Int) throws {
        let path = "\(outputFolder)/checkpoint-\(String(format: "%06d", step)).safetensors"
        let streams = try streamStates()
        var agreement = ""
        if communicator.size > 1 {
            let hashes = try communicator.allgather(DataParallel.stateHash(setup.parameters))
            guard Set(hashes).count == 1 else {
                throw TrainError("after step \(step) the ranks' parameters differ (state hashes \(hashes.map { String($0, radix: 16) }.joined(separator: ", "))); "
                    + "no checkpoint written: the ranks have diverged")
            }
            agreement = " (\(communicator.size) ranks hold identical parameters and optimizer state, hash \(String(hashes[0], radix: 16)))"
        }
        guard isLeader else { return }
        let metadata = ["recipe": recipeText, "recipe_path": recipePath, "step": String(step)].merging(extraMetadata) { a, _ in a }
            .merging(streams) { a, _ in a }
        try Checkpoint.write(setup.parameters, metadata: metadata, optimizer: true, to: path)
        try AtomicFile.write(Data(recipeText.utf8), to: "\(outputFolder)/recipe.yaml")
        lastCheckpoint = path
        progress.note("checkpoint \(path)" + agreement)
        try prune()
    }

    /// The run folder's checkpoints, oldest first, with their steps.
    public static func checkpoints(in folder: String) -> [(step: Int, path: String)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.compactMap { name -> (Int, String)? in
            guard name.hasPrefix("checkpoint-"), name.hasSuffix(".safetensors"),
                  let step = Int(name.dropFirst("checkpoint-".count).dropLast(".safetensors".count)) else { return nil }
            return (step, folder + "/" + name)
        }.sorted { $0.0 < $1.0 }
    }

    /// Keeps the newest `checkpoint.keep` (the one just written among them).
    private func prune() throws {
        let keep = setup.recipe.checkpoint.keep
        let all = Self.checkpoints(in: outputFolder)
        guard keep > 0, all.count > keep else { return }
        for old in all.dropLast(keep) {
            do { try FileManager.default.removeItem(atPath: old.path) } catch {
                progress.note("could not remove the old checkpoint \(old.path): \(error.localizedDescription)")
            }
        }
    }
}

extension Duration {
    /// The duration in seconds, as a Double.
    public var inSeconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) * 1e-18
    }
}
