import Foundation

/// What a run shows: a progress line (step, loss per objective, tokens/s, ETA) rewritten in
/// place on a terminal, plain lines every `logEvery` steps otherwise (CI logs), validation
/// results, notes.
public final class Progress {
    let logEvery: Int
    let isTerminal: Bool
    let write: (String) -> Void
    private var total = 0
    private var names: [String] = []
    private var tokensPerSecond = 0.0
    private var stepSeconds = 0.0
    private var onLine = false
    /// The last loss of each objective, shown until it runs again (mixing: sample).
    private var lastLosses: [Float?] = []

    /// Shows nothing: for runs that only measure or score.
    public static var silent: Progress { Progress(logEvery: .max, isTerminal: false, write: { _ in }) }

    public init(logEvery: Int, isTerminal: Bool = isatty(STDOUT_FILENO) != 0, write: @escaping (String) -> Void = { FileHandle.standardOutput.write(Data($0.utf8)) }) {
        self.logEvery = logEvery
        self.isTerminal = isTerminal
        self.write = write
    }

    func start(total: Int, objectives: [String]) {
        self.total = total
        names = objectives
        lastLosses = Array(repeating: nil, count: objectives.count)
    }

    func step(_ step: Int, losses: [Float?], learningRate: Double, gradNorm: Double, positions: Int, seconds: Double) {
        // Smoothed over recent steps so the ETA does not jump.
        let rate = Double(positions) / max(seconds, 1e-9)
        tokensPerSecond = tokensPerSecond == 0 ? rate : 0.9 * tokensPerSecond + 0.1 * rate
        stepSeconds = stepSeconds == 0 ? seconds : 0.9 * stepSeconds + 0.1 * seconds
        for (i, loss) in losses.enumerated() where loss != nil { lastLosses[i] = loss }
        guard isTerminal || step % logEvery == 0 || step == total else { return }
        let width = String(total).count
        let lossText = zip(names, lastLosses).map { "\($0) \($1.map { String(format: "%.4f", $0) } ?? "-")" }.joined(separator: "  ")
        let eta = Self.duration(Double(total - step) * stepSeconds)
        let line = "step \(String(format: "%\(width)d", step))/\(total)  \(lossText)  lr \(String(format: "%.2e", learningRate))  "
            + "|g| \(String(format: "%.2f", gradNorm))  \(Int(tokensPerSecond.rounded())) tok/s  ETA \(eta)"
        if isTerminal {
            write("\r\u{1B}[2K" + line)
            onLine = true
        } else {
            write(line + "\n")
        }
    }

    func evaluation(_ e: Trainer.Evaluation) {
        note("eval step \(e.step): " + e.results.map(Self.describe).joined(separator: ", "))
    }

    /// "causal 1.66 nats = 2.39 bits/byte, accuracy 51.2%" for text; "denoise mse 0.123" for images.
    public static func describe(_ r: (name: String, loss: Float, accuracy: Double?)) -> String {
        guard let accuracy = r.accuracy else { return "\(r.name) mse \(String(format: "%.4f", r.loss))" }
        return "\(r.name) \(String(format: "%.4f", r.loss)) nats = \(String(format: "%.3f", r.loss / Float(M_LN2))) bits/byte, "
            + "accuracy \(String(format: "%.1f", accuracy * 100))%"
    }

    public func note(_ text: String) {
        if onLine { write("\n"); onLine = false }
        write(text + "\n")
    }

    func finish() {
        if onLine { write("\n"); onLine = false }
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 60 ? "\(s / 60)m\(String(format: "%02d", s % 60))s" : "\(s)s"
    }
}
