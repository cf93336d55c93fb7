import Foundation
import HybridTestSupport
import HybridTrain
import Testing

@Suite struct ImageSetTests {
    /// The bundled file as `gzip -dc` reads it: an independent decompressor.
    static func gzipDecompressed(_ path: String) throws -> Data {
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        gzip.arguments = ["gzip", "-dc", path]
        let pipe = Pipe()
        gzip.standardOutput = pipe
        try gzip.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        gzip.waitUntilExit()
        #expect(gzip.terminationStatus == 0)
        return data
    }

    func temporaryFolder() throws -> String {
        let path = NSTemporaryDirectory() + "hybrid-images-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func loadError(_ contents: Data, side: Int = 8, name: String = "d.csv") throws -> String {
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/\(name)"
        try contents.write(to: URL(fileURLWithPath: path))
        do {
            _ = try ImageSet.load(path: path, side: side)
        } catch let error as TrainError {
            return error.message.replacingOccurrences(of: path, with: name)
        }
        Issue.record("\(name) loaded without an error")
        return ""
    }

    @Test func loadsTheBundledDigitsAsGzipReadsThem() throws {
        let set = try ImageSet.load(path: BundledData.digits)
        #expect(set.count == 1500 && set.side == 8 && set.pixels.count == 1500 * 64)
        #expect(set.pixels.allSatisfy { (-1...1).contains($0) })
        #expect(Set(set.labels) == Set(0...9))
        // The first row, as printed by `gzip -dc data/digits.csv.gz | head -1`.
        let first: [Float] = [0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0, 0, 3, 15, 2, 0, 11, 8, 0,
                              0, 4, 12, 0, 0, 8, 8, 0, 0, 5, 8, 0, 0, 9, 8, 0, 0, 4, 11, 0, 1, 12, 7, 0,
                              0, 2, 14, 5, 10, 12, 0, 0, 0, 0, 6, 13, 10, 0, 0, 0].map { $0 / 8 - 1 }
        #expect(Array(set.pixels[..<64]) == first)
        #expect(set.labels[0] == 0)
        // Every value, against an independent decompressor and String parsing.
        let text = String(decoding: try Self.gzipDecompressed(BundledData.digits), as: UTF8.self)
        let rows = text.split(separator: "\n").map { $0.split(separator: ",").map { Int($0)! } }
        #expect(rows.count == 1500)
        #expect(set.pixels == rows.flatMap { $0.dropLast().map { Float($0) / 8 - 1 } })
        #expect(set.labels == rows.map { Int32($0.last!) })
    }

    @Test func tellsGzipFromPlainTextByTheMagicBytesNotTheName() throws {
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let plain = try Self.gzipDecompressed(BundledData.digits)
        try plain.write(to: URL(fileURLWithPath: "\(dir)/plain.gz"))
        try Data(contentsOf: URL(fileURLWithPath: BundledData.digits)).write(to: URL(fileURLWithPath: "\(dir)/packed.csv"))
        let bundled = try ImageSet.load(path: BundledData.digits)
        for name in ["plain.gz", "packed.csv"] {
            let set = try ImageSet.load(path: "\(dir)/\(name)")
            #expect(set.pixels == bundled.pixels && set.labels == bundled.labels, "\(name)")
        }
    }

    @Test func readsSmallImagesBlankLinesCRLFAndConcatenatedGzipMembers() throws {
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("0,16,8,4,3\r\n\n12,0,0,16,9\n".utf8).write(to: URL(fileURLWithPath: "\(dir)/a.csv"))
        let set = try ImageSet.load(path: "\(dir)/a.csv", side: 2)
        #expect(set.count == 2 && set.side == 2)
        #expect(set.pixels == [-1, 1, 0, -0.5, 0.5, -1, -1, 1])
        #expect(set.labels == [3, 9])
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", "cd '\(dir)' && gzip -c a.csv > b.gz && gzip -c a.csv >> b.gz"]
        try shell.run()
        shell.waitUntilExit()
        let twice = try ImageSet.load(path: "\(dir)/b.gz", side: 2)
        #expect(twice.pixels == set.pixels + set.pixels && twice.labels == set.labels + set.labels)
    }

    @Test(arguments: [
        ("1,2,3,4,5\n1,2,3,4\n", "d.csv:2:1: expected 5 comma-separated values (4 pixels and a label), found 4"),
        ("1,2,3,4,5\n\n1,2,3,17,5\n", "d.csv:3:7: pixel 4 is \"17\"; expected an integer in 0...16"),
        ("1,2,3,4,5\n0,10,x1,4,5\n", "d.csv:2:6: pixel 3 is \"x1\"; expected an integer in 0...16"),
        ("1,-2,3,4,5\n", "d.csv:1:3: pixel 2 is \"-2\"; expected an integer in 0...16"),
        ("1,,3,4,5\n", "d.csv:1:3: pixel 2 is \"\"; expected an integer in 0...16"),
        ("1, 2,3,4,5\n", "d.csv:1:3: pixel 2 is \" 2\"; expected an integer in 0...16"),
        ("1,2,3,4,99999999999999999999999\n", "d.csv:1:9: label is \"99999999999999999999999\"; expected an integer in 0...9"),
        ("1,2,3,4,10\n", "d.csv:1:9: label is \"10\"; expected an integer in 0...9"),
        ("", "d.csv: no images; expected lines of 5 comma-separated values (4 pixels and a label)"),
        ("\n\r\n\n", "d.csv: no images; expected lines of 5 comma-separated values (4 pixels and a label)"),
    ])
    func namesTheLineColumnAndCulprit(contents: String, message: String) throws {
        #expect(try loadError(Data(contents.utf8), side: 2) == message)
    }

    @Test func theBriefsExampleMessages() throws {
        var row = Array(repeating: "0", count: 65)
        row[8] = "17"
        let text = Array(repeating: Array(repeating: "0", count: 65).joined(separator: ","), count: 2)
            + [row.joined(separator: ",")]
        #expect(try loadError(Data(text.joined(separator: "\n").utf8), name: "digits.csv")
            == "digits.csv:3:17: pixel 9 is \"17\"; expected an integer in 0...16")
        let short = Array(repeating: Array(repeating: "1", count: 65).joined(separator: ","), count: 4)
            + [Array(repeating: "1", count: 63).joined(separator: ",")]
        #expect(try loadError(Data(short.joined(separator: "\n").utf8), name: "digits.csv")
            == "digits.csv:5:1: expected 65 comma-separated values (64 pixels and a label), found 63")
    }

    @Test func refusesCorruptAndTruncatedGzip() throws {
        let packed = try Data(contentsOf: URL(fileURLWithPath: BundledData.digits))
        var corrupt = packed
        for i in 100..<140 { corrupt[i] ^= 0x5a }
        #expect(try loadError(corrupt, name: "d.gz").hasPrefix("d.gz: corrupt gzip data at byte "))
        var badCheck = packed
        badCheck[packed.count - 6] ^= 1  // the CRC-32 of the data, in the trailer
        #expect(try loadError(badCheck, name: "d.gz").hasSuffix(": incorrect data check"))
        #expect(try loadError(packed.prefix(packed.count / 2), name: "d.gz")
            == "d.gz: truncated gzip data: the file ends inside the compressed stream after \(packed.count / 2) bytes")
    }

    /// A gzip bomb (zeros that inflate a thousandfold) is refused once the output passes the
    /// bound, not after inflating all of it.
    @Test func refusesAGzipBombAtTheBound() throws {
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/sh")
        gzip.arguments = ["-c", "head -c \(ImageSet.maxInflated + (16 << 20)) /dev/zero | gzip -1"]
        let pipe = Pipe()
        gzip.standardOutput = pipe
        try gzip.run()
        let bomb = pipe.fileHandleForReading.readDataToEndOfFile()
        gzip.waitUntilExit()
        #expect(bomb.count < 2 << 20)
        #expect(try loadError(bomb, name: "d.gz") == "d.gz: the gzip data inflates past 256 MiB from \(bomb.count) bytes, more than a CSV of images may hold")
    }

    @Test func refusesAMissingFile() throws {
        let path = NSTemporaryDirectory() + "hybrid-no-such-\(UUID().uuidString).csv"
        do {
            _ = try ImageSet.load(path: path)
            Issue.record("a missing file loaded")
        } catch {
            #expect("\(error)" == "cannot read \(path): No such file or directory")
        }
    }

    @Test func holdsOutTheLastFraction() throws {
        let set = try ImageSet.load(path: BundledData.digits)
        let (train, validation) = set.split(validationFraction: 0.1)
        #expect(train.count == 1350 && validation.count == 150)
        #expect(train.pixels.count == 1350 * 64 && validation.pixels.count == 150 * 64)
        #expect(train.pixels + validation.pixels == set.pixels && train.labels + validation.labels == set.labels)
        #expect(Array(validation.pixels[..<64]) == Array(set.pixels[(1350 * 64)..<(1351 * 64)]))
        #expect(set.split(validationFraction: 0).validation.count == 0)
        #expect(set.split(validationFraction: 1).train.count == 0)
    }
}
