import Foundation

/// A folder of PNG images, in either of the two layouts people already use:
/// - class folders, as torchvision's `ImageFolder`: `cats/001.png`, `dogs/7.png`; each image's
///   label is its folder's index among the folder names sorted;
/// - a `metadata.jsonl` beside the images, as Hugging Face's `imagefolder`: one JSON object a
///   line with `file_name` (a path inside the folder) and a text column (`text` unless the
///   recipe names another) that becomes the image's caption, and optionally a label column
///   whose values (sorted) become the classes;
/// - or PNG files alone, with no labels.
/// Every image is decoded by libpng, brought to `channels` (alpha composited onto black) and
/// either resampled to `side`×`side` (`resize`) or refused unless it already is. Images are
/// ordered by a hash of their path inside the folder (FNV-1a), a fixed shuffle, so the
/// held-out last part of the set samples every class.
public enum ImageFolder {
    public struct Options: Sendable {
        public var side: Int
        public var channels: Int
        public var resize: Bool
        public var captionColumn: String
        /// The metadata.jsonl key whose values are the images' classes; nil: label 0.
        public var labelColumn: String?
        /// Pixels one file may declare before it is refused (before its pixels are allocated).
        public var maxPixels: Int

        public init(side: Int, channels: Int, resize: Bool, captionColumn: String = "text", labelColumn: String? = nil,
                    maxPixels: Int = 1 << 26) {
            self.side = side
            self.channels = channels
            self.resize = resize
            self.captionColumn = captionColumn
            self.labelColumn = labelColumn
            self.maxPixels = maxPixels
        }
    }

    public static func load(_ folder: String, _ options: Options) throws -> ImageSet {
        precondition(options.side > 0 && (options.channels == 1 || options.channels == 3), "side > 0, 1 or 3 channels")
        let files = FileManager.default
        let metadata = (folder as NSString).appendingPathComponent("metadata.jsonl")
        var entries: [(path: String, label: Int32, caption: String?)] = []
        var classes: [String] = []
        if files.fileExists(atPath: metadata) {
            let rows = try readMetadata(metadata, folder: folder, column: options.captionColumn, labelColumn: options.labelColumn)
            classes = Array(Set(rows.compactMap(\.label))).sorted()
            let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, Int32($0)) })
            entries = rows.map { ($0.file, $0.label.map { index[$0]! } ?? 0, $0.caption) }
        } else {
            guard options.labelColumn == nil else {
                throw TrainError("\(folder): data.label_column names a metadata.jsonl column, but the folder has no metadata.jsonl")
            }
            let names = try contents(of: folder)
            let pngs = names.filter(isPNG)
            // Each subfolder's PNG files, listed once: those that hold any are the classes.
            let folders: [(name: String, pngs: [String])] = names.compactMap { name in
                var isFolder: ObjCBool = false
                let path = (folder as NSString).appendingPathComponent(name)
                guard files.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue,
                      let inside = try? contents(of: path).filter(isPNG), !inside.isEmpty else { return nil }
                return (name, inside)
            }
            classes = folders.map(\.name)
            if !pngs.isEmpty && !classes.isEmpty {
                throw TrainError("\(folder): holds both PNG files (\(pngs[0]), …) and class folders (\(classes[0]), …); expected one layout: "
                    + "class folders of PNG files, PNG files with a metadata.jsonl, or PNG files alone")
            }
            entries = pngs.map { ($0, 0, nil) }
            for (label, f) in folders.enumerated() {
                entries += f.pngs.map { ("\(f.name)/\($0)", Int32(label), nil) }
            }
        }
        guard !entries.isEmpty else {
            throw TrainError("\(folder): holds no PNG images; expected class folders of .png files (cats/001.png), "
                + ".png files with a metadata.jsonl (file_name and \(options.captionColumn) on each line), or .png files alone")
        }
        entries.sort { (fnv1a($0.path), $0.path) < (fnv1a($1.path), $1.path) }
        let side = options.side, k = options.channels
        var pixels = [Float](repeating: 0, count: entries.count * side * side * k)
        for (i, entry) in entries.enumerated() {
            let path = (folder as NSString).appendingPathComponent(entry.path)
            let image = try DecodedPNG.decode(ImageSet.readFile(path), path: path, maxPixels: options.maxPixels)
            guard options.resize || (image.width == side && image.height == side) else {
                throw TrainError("\(path): is \(image.width)×\(image.height); data.image_size is \(side) and data.resize is false "
                    + "(set data.resize: true to centre-crop and resample every image to \(side)×\(side))")
            }
            let values = image.converted(side: side, channels: k)
            for (j, v) in values.enumerated() { pixels[i * values.count + j] = 2 * v - 1 }
        }
        let captions = entries.first?.caption == nil ? nil : entries.map { $0.caption ?? "" }
        return ImageSet(pixels: pixels, labels: entries.map(\.label), side: side, channels: k, captions: captions, classes: classes)
    }

    /// metadata.jsonl's lines: each an object naming an existing file and holding the caption
    /// (and the label, where a label column is named: a string or an integer).
    static func readMetadata(_ path: String, folder: String, column: String, labelColumn: String?) throws
        -> [(file: String, caption: String, label: String?)] {
        let text = String(decoding: try ImageSet.readFile(path), as: UTF8.self)
        var result: [(String, String, String?)] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { continue }
            let at = "\(path):\(index + 1)"
            guard let object = (try? JSONSerialization.jsonObject(with: Data(trimmed.utf8))) as? [String: Any] else {
                throw TrainError("\(at): not a JSON object; expected {\"file_name\": \"….png\", \"\(column)\": \"…\"}")
            }
            guard let file = object["file_name"] as? String else {
                throw TrainError("\(at): no \"file_name\" string; the line has \(keys(object))")
            }
            guard let caption = object[column] as? String else {
                throw TrainError("\(at): no \"\(column)\" string (the caption column; data.caption_column names another); the line has \(keys(object))")
            }
            var label: String?
            if let labelColumn {
                switch object[labelColumn] {
                case let s as String: label = s
                case let n as NSNumber: label = n.stringValue
                default: throw TrainError("\(at): no \"\(labelColumn)\" string or number (the label column, data.label_column); the line has \(keys(object))")
                }
            }
            let image = (folder as NSString).appendingPathComponent(file)
            guard FileManager.default.fileExists(atPath: image) else {
                throw TrainError("\(at): file_name \"\(file)\" names no file in \(folder)")
            }
            result.append((file, caption, label))
        }
        return result
    }

    private static func keys(_ object: [String: Any]) -> String {
        object.isEmpty ? "no keys" : object.keys.sorted().map { "\"\($0)\"" }.joined(separator: ", ")
    }

    private static func contents(of folder: String) throws -> [String] {
        do { return try FileManager.default.contentsOfDirectory(atPath: folder).filter { !$0.hasPrefix(".") }.sorted() } catch {
            throw TrainError("cannot read the folder \(folder): \(error.localizedDescription)")
        }
    }

    private static func isPNG(_ name: String) -> Bool { name.lowercased().hasSuffix(".png") }

    /// FNV-1a of the UTF-8 bytes: the same order on every machine.
    static func fnv1a(_ text: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return h
    }
}
