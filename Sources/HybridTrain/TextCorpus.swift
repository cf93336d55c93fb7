import Foundation
import HybridCore

/// The bytes of a recipe's text files, split into a training part and a held-out part (the
/// last `validationFraction` of the files concatenated in path order, as the PyTorch
/// reference does, so validation text is never trained on).
public struct TextCorpus: Sendable {
    public let train: [UInt8]
    public let validation: [UInt8]
    public let files: [String]

    public init(files: [String], validationFraction: Double) throws {
        var bytes: [UInt8] = []
        for path in files {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw TrainError("cannot read text file \(path)")
            }
            bytes.append(contentsOf: data)
        }
        let split = Int(Double(bytes.count) * (1 - validationFraction))
        self.init(train: Array(bytes[..<split]), validation: Array(bytes[split...]), files: files)
    }

    public init(train: [UInt8], validation: [UInt8], files: [String]) {
        self.train = train
        self.validation = validation
        self.files = files
    }

    /// Fills `out` with `count` windows of `length` bytes from the `part` of the text, each
    /// starting at a uniformly drawn offset.
    public func drawWindows(from part: TrainingData.Part, count: Int, length: Int,
                            rng: inout RandomStream, into out: UnsafeMutablePointer<UInt8>) throws {
        let source = part == .train ? train : validation
        guard source.count >= length else {
            let names = files.map { ($0 as NSString).lastPathComponent }
            let shown = names.prefix(3).joined(separator: ", ") + (names.count > 3 ? " and \(names.count - 3) more" : "")
            throw TrainError("data.text: the \(part == .train ? "training" : "held-out") part of the text (\(shown): \(train.count + validation.count) bytes) "
                             + "has \(source.count) bytes, fewer than one window of \(length) (model.seq_len and what the objective adds); "
                             + "give more text, or a shorter model.seq_len")
        }
        source.withUnsafeBufferPointer { src in
            for b in 0..<count {
                let start = rng.below(source.count - length + 1)
                (out + b * length).update(from: src.baseAddress! + start, count: length)
            }
        }
    }
}
