import Foundation
import HybridCore
import HybridRecipe
import HybridTrain

/// The whole training step timed (forward, backward, clip, AdamW, loss read back), as
/// ../shared/bench/ref_train.py times it: untimed warm-up steps, then timed steps, each one's
/// tokens/s; optionally each objective alone interleaved with the mixture's steps, and the
/// time in each op.
public struct TrainBenchmark {
    public let run: Run

    public init(_ run: Run) { self.run = run }

    public struct Result {
        /// Seconds of each timed step, its tokens/s, and its seconds in collectives.
        public var seconds: [Double] = []
        public var tokensPerSecond: [Double] = []
        public var communication: [Double] = []
        /// Seconds of each objective alone, per timed step (`mixture`).
        public var alone: [[Double]] = []
        /// Per op, forward and backward, over the timed steps (`profile`).
        public var ops: [(name: String, seconds: Double)] = []
        /// Cores other processes used during the timed steps.
        public var otherCores = 0.0
        public var peakRSSMiB = 0.0

        /// The mixture's expected step from the objectives alone: under sum every objective
        /// with a live weight runs each step; under sample one, drawn with the weights as
        /// probabilities: Σ share_i · t_i. Per objective: its share.
        public func expected(mixing: Recipe.Mixing, weights: [Float]) -> (shares: [Double], seconds: Double) {
            let live = weights.reduce(0) { $0 + max($1, 0) }
            let shares = weights.map { mixing == .sum ? ($0 > 0 ? 1 : 0) : Double(max($0, 0) / live) }
            return (shares, zip(shares, alone).reduce(0) { $0 + $1.0 * $1.1.mean })
        }
    }

    public func measure(warmup: Int, steps: Int, profile: Bool = false, mixture: Bool = false) throws -> Result {
        let trainer = run.trainer, sessions = run.setup.sessions
        var result = Result()
        result.alone = [[Double]](repeating: [], count: mixture ? sessions.count : 0)
        var watch = CPUWatch()
        let opProfile = OpProfile()
        /// One step of `objectives`: seconds, positions, seconds in collectives.
        func timed(_ step: Int, _ objectives: [Int]) throws -> (seconds: Double, positions: Int, communication: Double) {
            try trainer.loadBatches(objectives, step: step)
            let t0 = ContinuousClock.now
            let outcome = try trainer.computeStep(step, objectives: objectives)
            return ((ContinuousClock.now - t0).inSeconds, outcome.positions, outcome.communicationSeconds)
        }
        for step in 0..<(warmup + steps) {
            if step == warmup {
                watch.start()
                if profile { for s in sessions { s.executable?.profile = opProfile } }
            }
            for i in result.alone.indices {
                let seconds = try timed(step, [i]).seconds
                if step >= warmup { result.alone[i].append(seconds) }
            }
            let (seconds, positions, talking) = try timed(step, trainer.pickObjectives(step: step))
            if step >= warmup {
                result.seconds.append(seconds)
                result.tokensPerSecond.append(Double(positions) / seconds)
                result.communication.append(talking)
            }
        }
        result.otherCores = watch.otherCores()
        result.peakRSSMiB = peakRSSMiB()
        result.ops = opProfile.entries.map { ($0.key, $0.value.seconds) }.sorted { $0.seconds > $1.seconds }
        return result
    }
}

extension Array where Element == Double {
    public var median: Double {
        let v = sorted()
        return v.count % 2 == 1 ? v[v.count / 2] : (v[v.count / 2 - 1] + v[v.count / 2]) / 2
    }

    public var mean: Double { reduce(0, +) / Double(count) }
}

/// Peak resident set size of this process, in MiB.
public func peakRSSMiB() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

/// How many cores other processes used while a timed region ran (machine busy time from
/// /proc/stat minus this process's CPU time), as ../shared/bench/bench_common.py reports.
public struct CPUWatch {
    private var wall0 = ContinuousClock.now
    private var own0 = 0.0
    private var busy0 = 0.0

    public init() {}

    public mutating func start() {
        wall0 = ContinuousClock.now
        own0 = Self.ownSeconds()
        busy0 = Self.machineBusySeconds()
    }

    public func otherCores() -> Double {
        let wall = (ContinuousClock.now - wall0).inSeconds
        let other = (Self.machineBusySeconds() - busy0) - (Self.ownSeconds() - own0)
        return max(0, other / max(wall, 1e-9))
    }

    static func ownSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) * 1e-6 }
        return s(usage.ru_utime) + s(usage.ru_stime)
    }

    static func machineBusySeconds() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let line = text.split(separator: "\n").first else { return 0 }
        let fields = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard fields.count >= 8 else { return 0 }
        let busy = fields.prefix(8).reduce(0, +) - fields[3] - fields[4]
        return busy / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
