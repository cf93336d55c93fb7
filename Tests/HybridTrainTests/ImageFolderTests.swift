import CZlib
import Foundation
import HybridTrain
import Testing

/// PNG files of any colour type and bit depth, written here from the PNG specification so the
/// tests control every byte (libpng, which hybrid reads them with, is the independent side).
enum TestPNG {
    /// colour type 0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA; `samples` row-major,
    /// big-endian where 16-bit.
    static func make(width: Int, height: Int, colourType: UInt8, bitDepth: UInt8, samples: [UInt8], palette: [UInt8]? = nil) -> [UInt8] {
        let row = samples.count / max(height, 1)
        var scanlines: [UInt8] = []
        for y in 0..<height { scanlines.append(0); scanlines += samples[(y * row)..<((y + 1) * row)] }
        var compressed = [UInt8](repeating: 0, count: Int(compressBound(uLong(scanlines.count))))
        var size = uLong(compressed.count)
        _ = compress2(&compressed, &size, scanlines, uLong(scanlines.count), 9)
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        chunk("IHDR", be(width) + be(height) + [bitDepth, colourType, 0, 0, 0], &png)
        if let palette { chunk("PLTE", palette, &png) }
        chunk("IDAT", Array(compressed[..<Int(size)]), &png)
        chunk("IEND", [], &png)
        return png
    }

    static func grey(_ side: Int, _ levels: [UInt8]) -> [UInt8] {
        make(width: side, height: side, colourType: 0, bitDepth: 8, samples: levels)
    }

    static func be(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (24 - 8 * $0)) } }

    static func chunk(_ type: String, _ data: [UInt8], _ png: inout [UInt8]) {
        let body = Array(type.utf8) + data
        png += be(data.count) + body + be(Int(crc32(0, body, uInt(body.count))))
    }
}

@Suite struct ImageFolderTests {
    func folder(_ files: [String: [UInt8]]) throws -> String {
        let root = NSTemporaryDirectory() + "hybrid-images-\(UUID().uuidString)"
        for (name, bytes) in files {
            let path = (root as NSString).appendingPathComponent(name)
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        return root
    }

    func options(side: Int = 2, channels: Int = 1, resize: Bool = false) -> ImageFolder.Options {
        ImageFolder.Options(side: side, channels: channels, resize: resize)
    }

    @Test func classFoldersGiveLabelsBySortedFolderName() throws {
        let root = try folder(["dogs/b.png": TestPNG.grey(2, [255, 255, 255, 255]), "cats/a.png": TestPNG.grey(2, [0, 0, 0, 0]),
                               "dogs/c.png": TestPNG.grey(2, [0, 255, 0, 255])])
        let set = try ImageFolder.load(root, options())
        #expect(set.classes == ["cats", "dogs"])
        #expect(set.count == 3 && set.side == 2 && set.channels == 1 && set.captions == nil)
        for i in 0..<3 {
            let image = Array(set.pixels[(4 * i)..<(4 * i + 4)])
            switch image {
            case [-1, -1, -1, -1]: #expect(set.labels[i] == 0)
            case [1, 1, 1, 1], [-1, 1, -1, 1]: #expect(set.labels[i] == 1)
            default: Issue.record("unexpected image \(image)")
            }
        }
    }

    /// Every colour type and both bit depths, through the captions' layout, read as grey and as
    /// RGB: RGB → grey by Rec. 601 luma, alpha composited onto black, 16-bit scaled by 65535.
    @Test func everyColourTypeAndBitDepthReadsWithItsCaption() throws {
        let rgb = TestPNG.make(width: 1, height: 1, colourType: 2, bitDepth: 8, samples: [255, 0, 0])
        let rgba = TestPNG.make(width: 1, height: 1, colourType: 6, bitDepth: 8, samples: [0, 0, 255, 51])
        let greyAlpha = TestPNG.make(width: 1, height: 1, colourType: 4, bitDepth: 8, samples: [255, 102])
        let deep = TestPNG.make(width: 1, height: 1, colourType: 0, bitDepth: 16, samples: [0x80, 0x00])
        let palette = TestPNG.make(width: 1, height: 1, colourType: 3, bitDepth: 8, samples: [1], palette: [0, 0, 0, 0, 255, 0])
        let metadata = """
            {"file_name": "a.png", "text": "red"}
            {"file_name": "b.png", "text": "faint blue"}

            {"file_name": "sub/c.png", "text": "grey alpha"}
            {"file_name": "d.png", "text": "sixteen bits"}
            {"file_name": "e.png", "text": "palette green"}
            """
        let root = try folder(["a.png": rgb, "b.png": rgba, "sub/c.png": greyAlpha, "d.png": deep, "e.png": palette,
                               "metadata.jsonl": Array(metadata.utf8)])
        let grey = try ImageFolder.load(root, options(side: 1))
        let colour = try ImageFolder.load(root, options(side: 1, channels: 3))
        let expected: [String: (grey: Float, rgb: [Float])] = [
            "red": (0.299, [1, 0, 0]), "faint blue": (0.114 * 0.2, [0, 0, 0.2]), "grey alpha": (0.4, [0.4, 0.4, 0.4]),
            "sixteen bits": (32768 / 65535, [32768 / 65535, 32768 / 65535, 32768 / 65535]), "palette green": (0.587, [0, 1, 0]),
        ]
        let captions = try #require(grey.captions)
        #expect(Set(captions) == Set(expected.keys) && grey.count == 5)
        for (i, caption) in captions.enumerated() {
            let want = try #require(expected[caption])
            #expect(abs(grey.pixels[i] - (2 * want.grey - 1)) < 1e-5, "\(caption): grey \(grey.pixels[i])")
            #expect(colour.captions?[i] == caption)
            for c in 0..<3 { #expect(abs(colour.pixels[3 * i + c] - (2 * want.rgb[c] - 1)) < 1e-5, "\(caption): channel \(c)") }
        }
    }

    @Test func aLabelColumnGivesClassesInSortedOrder() throws {
        let metadata = """
            {"file_name": "a.png", "text": "an x", "char": "x"}
            {"file_name": "b.png", "text": "a b", "char": "b"}
            {"file_name": "c.png", "text": "another x", "char": "x"}
            {"file_name": "d.png", "text": "seven", "char": 7}
            """
        let png = TestPNG.grey(2, [0, 0, 0, 0])
        let root = try folder(["a.png": png, "b.png": png, "c.png": png, "d.png": png, "metadata.jsonl": Array(metadata.utf8)])
        var o = options()
        o.labelColumn = "char"
        let set = try ImageFolder.load(root, o)
        #expect(set.classes == ["7", "b", "x"])
        let captions = try #require(set.captions)
        let want: [String: Int32] = ["an x": 2, "a b": 1, "another x": 2, "seven": 0]
        for (caption, label) in zip(captions, set.labels) { #expect(want[caption] == label, "\(caption): \(label)") }
        o.labelColumn = "style"
        #expect {
            _ = try ImageFolder.load(root, o)
        } throws: { "\($0)".contains("metadata.jsonl:1: no \"style\" string or number (the label column, data.label_column)") }
    }

    @Test func resizingCropsTheCentreAndAveragesAreas() throws {
        // 6×4: the centre 4×4 square is columns 1...4; each 2×2 block of it has its own level.
        var levels = [UInt8](repeating: 7, count: 24)
        for y in 0..<4 { for x in 1...4 { levels[y * 6 + x] = UInt8(((y / 2) * 2 + (x - 1) / 2) * 50 + 10) } }
        let root = try folder(["wide.png": TestPNG.make(width: 6, height: 4, colourType: 0, bitDepth: 8, samples: levels)])
        let set = try ImageFolder.load(root, options(side: 2, resize: true))
        let want: [Float] = [10, 60, 110, 160].map { 2 * $0 / 255 - 1 }
        for (got, w) in zip(set.pixels, want) { #expect(abs(got - w) < 1e-5) }
        #expect(throws: TrainError.self) { try ImageFolder.load(root, options(side: 2, resize: false)) }
        do { _ = try ImageFolder.load(root, options(side: 2, resize: false)) } catch {
            #expect("\(error)".contains("wide.png: is 6×4; data.image_size is 2 and data.resize is false"), "\(error)")
        }
        // Growing: a 1×1 image becomes a flat 3×3.
        let one = try folder(["dot.png": TestPNG.grey(1, [255])])
        #expect(try ImageFolder.load(one, options(side: 3, resize: true)).pixels == [Float](repeating: 1, count: 9))
    }

    /// Bad input: each refused with the file (and line) named, none a crash.
    @Test(arguments: [
        ("empty", "holds no PNG images"),
        ("truncated", "bad.png: the file ends before the image does (truncated)"),
        ("crc", "bad.png: IDAT: CRC error"),
        ("zero", "bad.png: Invalid IHDR data (Image width is zero in IHDR)"),
        ("huge", "bad.png: is 100000x100000, more than the 67108864 pixels an image may have"),
        ("depth", "bad.png: Invalid IHDR data (Invalid bit depth in IHDR)"),
        ("colour", "bad.png: Invalid IHDR data (Invalid color type in IHDR)"),
        ("notPNG", "bad.png: not a PNG file (no PNG signature)"),
        ("mixed", "holds both PNG files (top.png, …) and class folders (cats, …)"),
        ("json", "metadata.jsonl:2: not a JSON object"),
        ("missing", "metadata.jsonl:1: file_name \"nowhere.png\" names no file"),
        ("column", "metadata.jsonl:1: no \"text\" string (the caption column; data.caption_column names another); the line has \"caption\", \"file_name\""),
    ])
    func badInputIsRefusedByName(_ kind: String, _ message: String) throws {
        let good = TestPNG.grey(2, [1, 2, 3, 4])
        var files: [String: [UInt8]] = [:]
        switch kind {
        case "empty": files = ["notes.txt": Array("no images".utf8)]
        case "truncated": files = ["bad.png": Array(good.prefix(good.count - 20))]
        case "crc":
            var bad = good
            let idat = 33, length = bad[idat..<(idat + 4)].reduce(0) { $0 << 8 | Int($1) }
            bad[idat + 8 + length + 3] ^= 0xFF   // the IDAT chunk's stored CRC no longer matches its data
            files = ["bad.png": bad]
        case "zero": files = ["bad.png": TestPNG.make(width: 0, height: 2, colourType: 0, bitDepth: 8, samples: [])]
        case "huge": files = ["bad.png": TestPNG.make(width: 100_000, height: 100_000, colourType: 0, bitDepth: 8, samples: [])]
        case "depth": files = ["bad.png": TestPNG.make(width: 2, height: 2, colourType: 0, bitDepth: 3, samples: [0, 0])]
        case "colour": files = ["bad.png": TestPNG.make(width: 2, height: 2, colourType: 5, bitDepth: 8, samples: [0, 0, 0, 0])]
        case "notPNG": files = ["bad.png": Array("GIF89a".utf8)]
        case "mixed": files = ["top.png": good, "cats/a.png": good]
        case "json": files = ["a.png": good, "metadata.jsonl": Array("{\"file_name\": \"a.png\", \"text\": \"x\"}\n{file_name: a.png}\n".utf8)]
        case "missing": files = ["a.png": good, "metadata.jsonl": Array("{\"file_name\": \"nowhere.png\", \"text\": \"x\"}\n".utf8)]
        case "column": files = ["a.png": good, "metadata.jsonl": Array("{\"file_name\": \"a.png\", \"caption\": \"x\"}\n".utf8)]
        default: Issue.record("no case \(kind)")
        }
        let root = try folder(files)
        #expect {
            _ = try ImageFolder.load(root, options())
        } throws: { error in
            error is TrainError && "\(error)".contains(message)
        }
        do { _ = try ImageFolder.load(root, options()) } catch { #expect("\(error)".contains(message), "\(kind): \(error)") }
    }
}

/// The bundled glyph set (data/glyphs, rendered by scripts/render-glyphs) reads as a
/// captioned image folder, and the families kept aside never appear in it.
@Suite struct BundledGlyphsTests {
    static let data = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("data").path

    @Test func theGlyphSetReadsWithACaptionPerImage() throws {
        let set = try ImageFolder.load(Self.data + "/glyphs", ImageFolder.Options(side: 32, channels: 1, resize: false))
        #expect(set.count == 3410 && set.side == 32)
        let captions = try #require(set.captions)
        let pattern = /^[0-9A-Za-z], (sans|serif|mono|script), (regular|bold|italic|bold italic)$/
        #expect(captions.allSatisfy { $0.wholeMatch(of: pattern) != nil })
        #expect(Set(captions.map { $0.prefix(1) }).count == 62, "every character of 0-9A-Za-z")
        let unseen = try ImageFolder.load(Self.data + "/glyphs-unseen", ImageFolder.Options(side: 32, channels: 1, resize: false))
        #expect(unseen.count == 496)
        let metadata = try String(contentsOfFile: Self.data + "/glyphs/metadata.jsonl", encoding: .utf8)
        #expect(!metadata.contains("\"family\": \"P052\"") && !metadata.contains("\"family\": \"URWGothic\""))
    }
}
