import ArgumentParser
import Foundation
import HybridEval
import HybridTrain

struct Plot: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw a run's loss curves (training and validation, one panel per objective) from its metrics.jsonl.")

    @Argument(help: "The run folder (training.output), or its metrics.jsonl.")
    var folder: String

    @Option(help: "Where to write the PNG (default: RUN/loss.png).")
    var out: String?

    func run() throws {
        try reportingFailures {
            var isFolder: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder)
            let metrics = exists && isFolder.boolValue ? folder + "/metrics.jsonl" : folder
            let runFolder = (metrics as NSString).deletingLastPathComponent
            let records = try MetricsLog.read(metrics)
            let path = out ?? (runFolder.isEmpty ? "." : runFolder) + "/loss.png"
            try LossPlot.write(records, title: ((runFolder.isEmpty ? folder : runFolder) as NSString).lastPathComponent, to: path)
            say("wrote \(path): \(records.filter { $0.kind == "train" }.count) training and \(records.filter { $0.kind == "eval" }.count) validation points")
        }
    }
}
