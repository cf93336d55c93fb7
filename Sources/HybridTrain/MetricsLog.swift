import Foundation

/// `metrics.jsonl` in a run folder: one JSON object per line, appended and flushed as the run
/// goes, so a crashed or running run can be read (and `hybrid plot` drawn) at any time.
///
///     {"kind":"train","step":10,"wall_s":4.21,"lr":0.0004,"loss":{"causal":5.12,"masked":5.3},"tokens_per_s":4100,"grad_norm":3.2}
///     {"kind":"eval","step":250,"wall_s":101.5,"loss":{"causal":2.1,"denoise":0.18},"accuracy":{"causal":0.41}}
///
/// Train lines come every `training.log_every` steps and at the last step; an objective that
/// did not run at that step (mixing: sample) is absent from its `loss`.
public final class MetricsLog {
    private let handle: FileHandle
    private let started = ContinuousClock.now
    public let path: String

    /// Starts `folder/metrics.jsonl` afresh or, resuming after `step`, keeps its lines up to
    /// that step (a run that went on past its last checkpoint logged steps it will redo).
    public init(folder: String, resumingAfter step: Int? = nil) throws {
        path = folder + "/metrics.jsonl"
        var kept = Data()
        if let step, let old = FileManager.default.contents(atPath: path) {
            for line in old.split(separator: 0x0A) {
                let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any]
                if let s = object?["step"] as? Int, s <= step { kept.append(Data(line) + [0x0A]) }
            }
        }
        guard FileManager.default.createFile(atPath: path, contents: kept) else {
            throw TrainError("\(path): cannot create the metrics file (is the run folder writable?)")
        }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
    }

    deinit { try? handle.close() }

    func train(step: Int, names: [String], losses: [Float?], learningRate: Double, tokensPerSecond: Double, gradNorm: Double) throws {
        var loss: [String: Double] = [:]
        for (name, l) in zip(names, losses) { if let l { loss[name] = Double(l) } }
        try append(["kind": "train", "step": step, "wall_s": wall, "lr": learningRate, "loss": loss,
                    "tokens_per_s": tokensPerSecond.rounded(), "grad_norm": gradNorm])
    }

    func evaluation(_ e: Trainer.Evaluation) throws {
        var loss: [String: Double] = [:], accuracy: [String: Double] = [:]
        for r in e.results {
            loss[r.name] = Double(r.loss)
            if let a = r.accuracy { accuracy[r.name] = a }
        }
        try append(["kind": "eval", "step": e.step, "wall_s": wall, "loss": loss, "accuracy": accuracy])
    }

    private var wall: Double { ((ContinuousClock.now - started).inSeconds * 1000).rounded() / 1000 }

    private func append(_ object: [String: Any]) throws {
        var line = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        line.append(0x0A)
        do { try handle.write(contentsOf: line) } catch {
            throw TrainError("\(path): writing metrics failed: \(error.localizedDescription)")
        }
    }

    /// The lines of a metrics file, decoded.
    public struct Record: Sendable {
        public var kind: String
        public var step: Int
        public var loss: [String: Double]

        public init(kind: String, step: Int, loss: [String: Double]) {
            self.kind = kind
            self.step = step
            self.loss = loss
        }
    }

    /// Reads `path`; a line that is not a metrics record is an error naming the line.
    public static func read(_ path: String) throws -> [Record] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TrainError("\(path): cannot read the metrics file (missing or unreadable); a run folder written by hybrid train has one")
        }
        return try String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true).enumerated().map { i, line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let kind = object["kind"] as? String, let step = object["step"] as? Int,
                  let loss = object["loss"] as? [String: Double] else {
                throw TrainError("\(path):\(i + 1): not a metrics record (expected a JSON object with kind, step and loss)")
            }
            return Record(kind: kind, step: step, loss: loss)
        }
    }
}
