import CZlib
import Foundation

/// Square images with a label each (and a caption each, where the data has them), as the
/// image objectives train on: the bundled 8×8 digits (a CSV) or a folder of PNG files
/// (`ImageFolder`).
///
/// Shapes: N images, S side, K channels (1 grey, 3 RGB), P = S*S*K values an image.
/// - `pixels` [N, S, S, K] row-major, channels interleaved, each in [-1, 1] (a grey level g
///   in 0...maxValue of the CSV becomes 2g/maxValue − 1: g/8 − 1 for the 0..16 digits)
/// - `labels` [N]: the digit, the class folder's index in `classes`, or 0 where there is none
/// - `captions` [N]: each image's text, for folders with a metadata.jsonl
public struct ImageSet: Sendable {
    public let pixels: [Float]
    public let labels: [Int32]
    public let side: Int
    public let channels: Int
    public let captions: [String]?
    /// Class names, label i being classes[i] (class folders); empty otherwise.
    public let classes: [String]
    public var count: Int { labels.count }
    /// Values one image holds (S·S·K).
    public var values: Int { side * side * channels }

    public init(pixels: [Float], labels: [Int32], side: Int, channels: Int = 1, captions: [String]? = nil, classes: [String] = []) {
        precondition(side > 0 && channels > 0 && pixels.count == labels.count * side * side * channels,
                     "\(pixels.count) values are not \(labels.count) images of \(side)x\(side)x\(channels)")
        precondition(captions.map { $0.count == labels.count } ?? true, "one caption an image")
        self.pixels = pixels
        self.labels = labels
        self.side = side
        self.channels = channels
        self.captions = captions
        self.classes = classes
    }

    /// Reads a CSV file, or a gzip'd one (told by its first two bytes, not its name): each
    /// non-empty line is `side*side` integers in 0...maxValue, then a label in 0...9,
    /// comma-separated. A bad line throws a `TrainError` like
    /// `digits.csv:3:17: pixel 9 is "17"; expected an integer in 0...16`.
    public static func load(path: String, side: Int = 8, maxValue: Int = 16) throws -> ImageSet {
        precondition(side > 0 && maxValue > 0, "side and maxValue must be positive")
        var bytes = try readFile(path)
        if bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b {
            bytes = try gunzip(bytes, path: path)
        }
        return try parse(bytes, path: path, side: side, maxValue: maxValue)
    }

    /// The first images for training and the last `validationFraction` of them held out, as
    /// `TextCorpus` holds out the end of the text.
    public func split(validationFraction: Double) -> (train: ImageSet, validation: ImageSet) {
        precondition((0...1).contains(validationFraction), "validationFraction \(validationFraction) is not in 0...1")
        let trainCount = Int(Double(count) * (1 - validationFraction))
        let cut = trainCount * values
        return (ImageSet(pixels: Array(pixels[..<cut]), labels: Array(labels[..<trainCount]), side: side, channels: channels,
                         captions: captions.map { Array($0[..<trainCount]) }, classes: classes),
                ImageSet(pixels: Array(pixels[cut...]), labels: Array(labels[trainCount...]), side: side, channels: channels,
                         captions: captions.map { Array($0[trainCount...]) }, classes: classes))
    }

    /// These images with their labels renumbered as `classes` (another set's class names), so
    /// that a classifier trained on that set reads them; a class it lacks is refused by name.
    /// Sets without class names (the digits' CSV labels) are returned as they are.
    public func labelled(as classes: [String], source: String) throws -> ImageSet {
        guard !self.classes.isEmpty, self.classes != classes else { return self }
        let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, Int32($0)) })
        let renumbered = try self.classes.map { name in
            guard let i = index[name] else {
                throw TrainError("\(source): holds class \"\(name)\", which the training images (\(classes.count) classes) do not")
            }
            return i
        }
        return ImageSet(pixels: pixels, labels: labels.map { renumbered[Int($0)] }, side: side, channels: channels, captions: captions, classes: classes)
    }

    static func readFile(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw TrainError("cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n == 0 { return bytes }
            if n < 0 {
                if errno == EINTR { continue }
                throw TrainError("cannot read \(path): \(String(cString: strerror(errno)))")
            }
            bytes.append(contentsOf: chunk[..<n])
        }
    }

    /// The most a gzip'd CSV may inflate to: over a million 8×8 images, and refused as soon as
    /// the output passes it, so a gzip bomb costs no more than this.
    public static let maxInflated = 256 << 20

    /// Inflates gzip data 64 KiB of output at a time, up to `maxInflated`; members written one
    /// after another (`cat a.gz b.gz`) read as one text, as `gzip -d` reads them.
    private static func gunzip(_ input: [UInt8], path: String) throws -> [UInt8] {
        var stream = z_stream()
        // 15 + 32: the largest window, and a gzip (or zlib) header detected automatically.
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw TrainError("\(path): zlib could not start inflating: \(stream.msg.map { String(cString: $0) } ?? "out of memory")")
        }
        defer { inflateEnd(&stream) }
        let chunk = 1 << 16
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: chunk)
        try input.withUnsafeBufferPointer { source in
            stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
            stream.avail_in = uInt(source.count)
            while true {
                let status = buffer.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = uInt(chunk)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                output.append(contentsOf: buffer[..<(chunk - Int(stream.avail_out))])
                guard output.count <= maxInflated else {
                    throw TrainError("\(path): the gzip data inflates past \(maxInflated >> 20) MiB from \(source.count) bytes, more than a CSV of images may hold")
                }
                switch status {
                case Z_OK:
                    continue
                case Z_STREAM_END:
                    if stream.avail_in == 0 { return }
                    inflateReset(&stream)
                case Z_BUF_ERROR:  // no progress with a whole free chunk: the input ran out
                    throw TrainError("\(path): truncated gzip data: the file ends inside the compressed stream after \(source.count) bytes")
                default:
                    let reason = stream.msg.map { String(cString: $0) } ?? "zlib status \(status)"
                    throw TrainError("\(path): corrupt gzip data at byte \(source.count - Int(stream.avail_in)): \(reason)")
                }
            }
        }
        return output
    }

    private static func parse(_ text: [UInt8], path: String, side: Int, maxValue: Int) throws -> ImageSet {
        let width = side * side
        let comma = UInt8(ascii: ","), newline = UInt8(ascii: "\n"), carriageReturn = UInt8(ascii: "\r")
        let scale = 2 / Float(maxValue)
        var pixels: [Float] = []
        var labels: [Int32] = []
        try text.withUnsafeBufferPointer { buf in
            var lineStart = 0
            var lineNumber = 0
            while lineStart < buf.count {
                lineNumber += 1
                var lineEnd = lineStart
                while lineEnd < buf.count && buf[lineEnd] != newline { lineEnd += 1 }
                let nextLine = lineEnd + 1
                if lineEnd > lineStart && buf[lineEnd - 1] == carriageReturn { lineEnd -= 1 }
                defer { lineStart = nextLine }
                if lineEnd == lineStart { continue }

                var commas = 0
                for i in lineStart..<lineEnd where buf[i] == comma { commas += 1 }
                guard commas == width else {
                    throw TrainError("\(path):\(lineNumber):1: expected \(width + 1) comma-separated values (\(width) pixels and a label), found \(commas + 1)")
                }
                var fieldStart = lineStart
                for field in 0...width {
                    var fieldEnd = fieldStart
                    while fieldEnd < lineEnd && buf[fieldEnd] != comma { fieldEnd += 1 }
                    let isLabel = field == width
                    let limit = isLabel ? 9 : maxValue
                    guard let value = integer(buf[fieldStart..<fieldEnd], atMost: limit) else {
                        let found = String(decoding: buf[fieldStart..<fieldEnd], as: UTF8.self).debugDescription
                        let what = isLabel ? "label" : "pixel \(field + 1)"
                        throw TrainError("\(path):\(lineNumber):\(fieldStart - lineStart + 1): \(what) is \(found); expected an integer in 0...\(limit)")
                    }
                    if isLabel { labels.append(Int32(value)) } else { pixels.append(Float(value) * scale - 1) }
                    fieldStart = fieldEnd + 1
                }
            }
        }
        guard !labels.isEmpty else {
            throw TrainError("\(path): no images; expected lines of \(width + 1) comma-separated values (\(width) pixels and a label)")
        }
        return ImageSet(pixels: pixels, labels: labels, side: side)
    }

    /// The value of `field` if it is decimal digits only, of a number in 0...limit.
    @inline(__always)
    private static func integer(_ field: Slice<UnsafeBufferPointer<UInt8>>, atMost limit: Int) -> Int? {
        guard !field.isEmpty else { return nil }
        var value = 0
        for byte in field {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
            if value > limit { return nil }  // also keeps a long run of digits from overflowing
        }
        return value
    }
}
