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

    /// Fills `out` with `count` windows of `length` bytes from `source`, each starting at a
    /// uniformly drawn offset.
    public static func drawWindows(from source: [UInt8], count: Int, length: Int,
                                   rng: inout RandomStream, into out: UnsafeMutablePointer<UInt8>) throws {
        guard source.count >= length else {
            throw TrainError("the text has \(source.count) bytes, fewer than one window of \(length)")
        }
        source.withUnsafeBufferPointer { src in
            for b in 0..<count {
                let start = rng.below(source.count - length + 1)
                (out + b * length).update(from: src.baseAddress! + start, count: length)
            }
        }
    }
}
