import Foundation
import HybridCore
import HybridRecipe

/// A stop every rank of a data-parallel run agreed on (a rank's recipe or plugins differ from
/// rank 0's): each rank can leave the job cleanly, none is left waiting. Every rank holds the
/// whole message (each differing rank's reasons), so rank 0 alone can print it: mpirun may
/// take the job down as soon as one rank exits, before the others' output is forwarded.
public struct RanksDisagree: Error, CustomStringConvertible {
    public let description: String
}

/// What ranks must agree on before they train together, and the check that they still do.
public enum DataParallel {
    /// Refuses to start unless every rank resolved the same recipe (`yamlText`), loaded the
    /// same plugin set and read the same data as rank 0; a differing rank names the keys,
    /// plugins or data that differ.
    public static func checkAgreement(recipeText: String, setup: RunSetup, data: TrainingData, dataShards: Int = 1, communicator: Communicator) throws {
        guard communicator.size > 1 else { return }
        // What else must match, labelled for the message.
        let setting = pluginLines(setup).enumerated().map { ("objectives[\($0)] plugin", $1) }
            + [("the data", dataLine(data)), ("--data-shards", String(dataShards))]
        let mine = recipeText + "\u{0}" + setting.map(\.1).joined(separator: "\n")
        let zero = String(decoding: try communicator.broadcast(Array(mine.utf8)), as: UTF8.self)
            .split(separator: "\u{0}", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        var problems: [String] = []
        let keys = try Recipe.differences(zero[0], recipeText, ignoring: [])
        if !keys.isEmpty { problems.append("its recipe differs from rank 0's at \(keys.joined(separator: ", "))") }
        let zeroSetting = zero.count > 1 ? zero[1].split(separator: "\n", omittingEmptySubsequences: false).map(String.init) : []
        if keys.isEmpty {
            for (i, (label, value)) in setting.enumerated() where i >= zeroSetting.count || zeroSetting[i] != value {
                problems.append("\(label) is \(value), rank 0's \(i < zeroSetting.count ? zeroSetting[i] : "absent")")
            }
        }
        let verdict = problems.isEmpty ? "" : "rank \(communicator.rank) cannot train with rank 0: \(problems.joined(separator: "; "))"
        let messages = try communicator.allgather(text: verdict).filter { !$0.isEmpty }
        guard messages.isEmpty else {
            throw RanksDisagree(description: messages.joined(separator: "\n")
                + "\nevery rank must run the same recipe with the same plugin libraries and data")
        }
    }

    /// Refuses to go on unless every rank starts from the same step (resumed the same
    /// checkpoint, or none).
    public static func checkSameStart(_ step: Int, communicator: Communicator) throws {
        guard communicator.size > 1 else { return }
        let steps = try communicator.allgather(UInt64(step))
        guard Set(steps).count == 1 else {
            throw RanksDisagree(description: "the ranks start after different steps ("
                + steps.enumerated().map { "rank \($0): \($1)" }.joined(separator: ", ") + "); every rank must resume the same checkpoint")
        }
    }

    /// One line per objective naming its plugin exactly: name, version, ABI and a hash of
    /// the library file, so a rebuilt plugin with the same version still differs.
    static func pluginLines(_ setup: RunSetup) -> [String] {
        setup.sessions.map { session in
            let plugin = session.instance.plugin
            let bytes = (try? Data(contentsOf: URL(fileURLWithPath: plugin.realPath))) ?? Data()
            let hash = bytes.withUnsafeBytes { fnv1a($0) }
            return "\(plugin.name) \(plugin.version) (ABI \(plugin.abiVersion), library hash \(String(hash, radix: 16)))"
        }
    }

    /// The data as read (the same paths may hold other files on another host): its summary
    /// and a hash of every byte and pixel.
    static func dataLine(_ data: TrainingData) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        if let text = data.text {
            for part in [text.train, text.validation] { hash = part.withUnsafeBytes { fnv1a($0, from: hash) } }
        }
        if let images = data.images {
            for set in [images.train, images.validation] {
                hash = set.pixels.withUnsafeBytes { fnv1a($0, from: hash) }
                hash = set.labels.withUnsafeBytes { fnv1a($0, from: hash) }
            }
        }
        return "\(data.summary) (hash \(String(hash, radix: 16)))"
    }

    /// A hash of the parameters and both AdamW moments: ranks that hold the same state have
    /// the same hash.
    public static func stateHash(_ parameters: ParameterStore) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        let moments = parameters.momentPrecision.words(parameters.count)
        for (buffer, count) in [(parameters.values, parameters.count), (parameters.moments, moments)] {
            guard let buffer else { continue }
            hash = fnv1a(UnsafeRawBufferPointer(start: buffer, count: count * 4), from: hash)
        }
        return hash
    }

    /// FNV-1a, 64-bit, over `bytes`, continuing from `hash`.
    static func fnv1a(_ bytes: UnsafeRawBufferPointer, from start: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 {
        var hash = start
        for byte in bytes {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return hash
    }
}
