import CZlib
import Foundation
import HybridEval
import HybridTrain
import Testing

/// A decoder for exactly what `PNG.encode` writes, written from the PNG specification.
struct DecodedPNG {
    var width = 0, height = 0
    var header: [UInt8] = []
    var chunkTypes: [String] = []
    /// The pixel values, channel by channel (1 for greyscale, 3 for RGB).
    var grey: [UInt8] = []
    var channels = 1

    init(_ png: [UInt8]) throws {
        func u32(_ at: Int) -> Int { (0..<4).reduce(0) { $0 << 8 | Int(png[at + $1]) } }
        try #require(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var at = 8
        var idat: [UInt8] = []
        while at < png.count {
            let length = u32(at)
            let body = Array(png[(at + 4)..<(at + 8 + length)])
            let type = String(decoding: body.prefix(4), as: UTF8.self)
            #expect(u32(at + 8 + length) == Int(crc32(0, body, uInt(body.count))), "CRC of \(type)")
            chunkTypes.append(type)
            let data = Array(body.dropFirst(4))
            if type == "IHDR" { header = data }
            if type == "IDAT" { idat += data }
            at += 12 + length
        }
        try #require(header.count == 13)
        width = header[0..<4].reduce(0) { $0 << 8 | Int($1) }
        height = header[4..<8].reduce(0) { $0 << 8 | Int($1) }
        channels = header[9] == 2 ? 3 : 1
        let row = width * channels
        var scanlines = [UInt8](repeating: 0, count: height * (row + 1))
        var size = uLong(scanlines.count)
        try #require(uncompress(&scanlines, &size, idat, uLong(idat.count)) == Z_OK)
        try #require(Int(size) == scanlines.count)
        for y in 0..<height {
            #expect(scanlines[y * (row + 1)] == 0, "filter of scanline \(y)")
            grey += scanlines[(y * (row + 1) + 1)..<((y + 1) * (row + 1))]
        }
    }
}

@Suite struct PNGTests {
    func temporaryFolder() throws -> String {
        let path = NSTemporaryDirectory() + "hybrid-png-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func encodesAThreeByTwoPictureThatDecodesBack() throws {
        let grey: [UInt8] = [0, 127, 255, 1, 2, 200]
        let png = PNG.encode(width: 3, height: 2, grey: grey)
        let decoded = try DecodedPNG(png)
        #expect(decoded.chunkTypes == ["IHDR", "IDAT", "IEND"])
        #expect(decoded.width == 3 && decoded.height == 2)
        #expect(Array(decoded.header[8...]) == [8, 0, 0, 0, 0], "8-bit, greyscale, deflate, filter 0, not interlaced")
        #expect(decoded.grey == grey)
    }

    @Test func encodesAnRGBPictureThatDecodesBack() throws {
        let rgb: [UInt8] = [255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 8, 7]
        let decoded = try DecodedPNG(PNG.encode(width: 2, height: 2, rgb: rgb))
        #expect(decoded.width == 2 && decoded.height == 2 && decoded.channels == 3)
        #expect(Array(decoded.header[8...]) == [8, 2, 0, 0, 0], "8-bit, truecolour, deflate, filter 0, not interlaced")
        #expect(decoded.grey == rgb)
    }

    /// A plot of known curves: the training curve's colour appears, falling from left to right.
    @Test func lossPlotDrawsEachObjectivesCurves() throws {
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var records: [MetricsLog.Record] = (1...50).map { MetricsLog.Record(kind: "train", step: $0 * 10, loss: ["a": 5 - Double($0) * 0.08, "b": 1]) }
        records += [0, 250, 500].map { MetricsLog.Record(kind: "eval", step: $0, loss: ["a": 5 - Double($0) / 150]) }
        try LossPlot.write(records, title: "test", to: dir + "/loss.png")
        let png = try DecodedPNG(Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/loss.png"))))
        #expect(png.channels == 3 && png.width == 760 && png.height == 34 + 2 * 230, "one panel per objective")
        // Where the training colour (31, 119, 180) is in the first panel: lower-left to upper-right would be wrong.
        var points: [(x: Int, y: Int)] = []
        for y in 0..<264 { for x in 0..<png.width {
            let i = (y * png.width + x) * 3
            if png.grey[i] == 31 && png.grey[i + 1] == 119 && png.grey[i + 2] == 180 && x > 80 { points.append((x, y)) }
        } }
        let curve = points.filter { $0.y > 60 }   // below the legend
        let left = try #require(curve.min { $0.x < $1.x }), right = try #require(curve.max { $0.x < $1.x })
        #expect(right.x - left.x > 500, "the curve spans the panel")
        #expect(left.y < right.y, "the falling loss starts high (small y) and ends low")
    }

    @Test func gridLaysOutCellsWithGreyGaps() throws {
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Three 2x2 images, 2 columns, scale 3: 2 rows of cells 6 pixels wide, 1-pixel gaps.
        let images: [Float] = [-1, 1, 0, 0.5,
                               -3, 2, .nan, -0.5,
                               1, 1, 1, 1]
        try PNG.grid(images: images, side: 2, columns: 2, scale: 3, to: "\(dir)/g.png")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["g.png"])
        let decoded = try DecodedPNG(Array(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/g.png"))))
        #expect(decoded.width == 2 * 6 + 1 && decoded.height == 2 * 6 + 1)
        func at(_ x: Int, _ y: Int) -> UInt8 { decoded.grey[y * decoded.width + x] }
        // Image 0, each pixel a 3x3 block.
        #expect([at(0, 0), at(2, 2), at(3, 0), at(5, 2), at(0, 3), at(3, 5)] == [0, 0, 255, 255, 128, 191])
        #expect((0..<13).allSatisfy { at(6, $0) == 128 && at($0, 6) == 128 }, "the gaps")
        // Image 1 (clamped, NaN as -1) to the right of the gap, image 2 below.
        #expect([at(7, 0), at(10, 0), at(7, 3), at(10, 3)] == [0, 255, 0, 64])
        #expect([at(0, 7), at(5, 12)] == [255, 255])
        #expect([at(7, 7), at(12, 12)] == [128, 128], "the unused cell")
    }

    @Test func gridWithFewerImagesThanColumnsIsOneRow() throws {
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try PNG.grid(images: [Float](repeating: 0, count: 2 * 64), side: 8, columns: 10, scale: 2, to: "\(dir)/g.png")
        // Python's zlib and struct, as an independent reader of the file.
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", "-c", """
            import struct, sys, zlib
            b = open(sys.argv[1], 'rb').read()
            assert b[:8] == b'\\x89PNG\\r\\n\\x1a\\n'
            at, idat = 8, b''
            while at < len(b):
                n, t = struct.unpack('>I4s', b[at:at + 8])
                assert struct.unpack('>I', b[at + 8 + n:at + 12 + n])[0] == zlib.crc32(b[at + 4:at + 8 + n])
                if t == b'IHDR': w, h, depth, colour = struct.unpack('>IIBB', b[at + 8:at + 18])
                if t == b'IDAT': idat += b[at + 8:at + 8 + n]
                at += 12 + n
            raw = zlib.decompress(idat)
            assert len(raw) == h * (w + 1)
            print(w, h, depth, colour, sorted(set(raw[1:w + 1])))
            """, "\(dir)/g.png"]
        let pipe = Pipe()
        python.standardOutput = pipe
        try python.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        python.waitUntilExit()
        #expect(python.terminationStatus == 0)
        #expect(output == "33 16 8 0 [128]\n")
    }

    @Test func gridNamesAnUnwritablePath() throws {
        let path = NSTemporaryDirectory() + "hybrid-no-such-\(UUID().uuidString)/g.png"
        do {
            try PNG.grid(images: [0, 0, 0, 0], side: 2, columns: 1, scale: 1, to: path)
            Issue.record("wrote into a missing folder")
        } catch {
            #expect("\(error)".hasPrefix("cannot write \(path): No such file or directory"), "\(error)")
        }
    }
}
