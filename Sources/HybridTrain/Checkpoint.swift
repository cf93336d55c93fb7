import Foundation
import HybridCore
import HybridRecipe

/// Model checkpoints as `.safetensors`: an 8-byte little-endian header length, a JSON header
/// mapping each parameter name to its dtype, shape and byte range, then the raw data. The
/// header's `__metadata__` carries the resolved recipe and the step, so a checkpoint alone is
/// enough to rebuild the model and sample from it.
public enum Checkpoint {
    public static let formatTag = "hybrid-checkpoint-1"
    /// The reference implementation's header limit.
    static let maxHeaderBytes = 100_000_000

    /// The AdamW moments of parameter `name`, stored beside it when a checkpoint can resume.
    public static func firstMomentName(_ name: String) -> String { "optimizer.m/" + name }
    public static func secondMomentName(_ name: String) -> String { "optimizer.v/" + name }

    /// Writes the parameters atomically: a temporary file beside the target, fsync, rename,
    /// fsync of the folder. A failure leaves any earlier file at `path` untouched.
    /// `optimizer`: also both AdamW moments of every parameter, so a run can resume exactly.
    public static func write(_ store: ParameterStore, metadata: [String: String], optimizer: Bool = false, to path: String) throws {
        guard let values = store.values, store.moments != nil else {
            throw TrainError("cannot checkpoint parameters that were never allocated")
        }
        // Sections: the values, then (optimizer) every first moment and every second moment,
        // in fp32 whatever the run holds them in.
        let sections = optimizer ? ["", firstMomentName(""), secondMomentName("")] : [""]
        var meta = metadata
        meta["format"] = formatTag
        let header = try header(sections.flatMap { section in store.parameters.map { (section + $0.name, $0.shape) } }, metadata: meta)
        try AtomicFile.write(to: path) { file in
            header.withUnsafeBytes { file.append($0) }
            for p in store.parameters { file.append(UnsafeBufferPointer(start: values + p.offset, count: p.count)) }
            guard optimizer else { return }
            let moment = UnsafeMutablePointer<Float>.allocate(capacity: store.parameters.map(\.count).max() ?? 0)
            defer { moment.deallocate() }
            for first in [true, false] {
                for p in store.parameters {
                    store.readMoments(of: p, m: first ? moment : nil, v: first ? nil : moment)
                    file.append(UnsafeBufferPointer(start: moment, count: p.count))
                }
            }
        }
    }

    /// A `.safetensors` file's first bytes, its length then its JSON header, for F32 tensors
    /// whose data follow in the order given.
    static func header(_ tensors: [(name: String, shape: [Int])], metadata: [String: String]) throws -> Data {
        var header: [String: Any] = ["__metadata__": metadata]
        var offset = 0
        for t in tensors {
            let bytes = t.shape.reduce(4, *)
            header[t.name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + bytes]]
            offset += bytes
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
        while (json.count % 8) != 0 { json.append(0x20) }
        return withUnsafeBytes(of: UInt64(json.count).littleEndian) { Data($0) } + json
    }

    /// A checkpoint's header: metadata plus each tensor's dtype, shape and byte range.
    public struct Contents {
        public var metadata: [String: String]
        public var tensors: [String: (shape: [Int], range: Range<Int>)]
        /// The whole file; tensor ranges are relative to `dataStart`.
        public var bytes: Data
        public var dataStart: Int

        /// The values of tensor `name` (copied byte-wise: the data section need not be aligned).
        public func values(_ name: String) -> [Float]? {
            tensors[name].map { t in
                [Float](unsafeUninitializedCapacity: t.range.count / 4) { buffer, count in
                    bytes.withUnsafeBytes { raw in
                        UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: raw.baseAddress! + dataStart + t.range.lowerBound, byteCount: t.range.count)
                    }
                    count = t.range.count / 4
                }
            }
        }

        /// The recipe the checkpoint at `path` was trained with (its metadata), with
        /// `overrides`. Relative paths resolve from the folder of the recipe file training
        /// read, as they did then; errors name the checkpoint, whose stored text (also the run
        /// folder's recipe.yaml), not today's recipe file, is what was read.
        public func recipe(checkpoint path: String, overrides: [String] = [], requireData: Bool = true) throws -> Recipe {
            guard let text = metadata["recipe"] else {
                throw TrainError("\(path): the checkpoint's metadata has no recipe; it was not written by hybrid train")
            }
            do {
                return try Recipe.decode(yaml: text, path: metadata["recipe_path"] ?? path, source: "\(path) (its recipe)",
                                         overrides: overrides, requireData: requireData)
            } catch {
                throw TrainError("\(path): the recipe stored in this checkpoint does not read "
                    + (overrides.isEmpty ? "(it may have been written by an older hybrid; the run folder's recipe.yaml holds the same text)"
                                         : "with the overrides given")
                    + ":\n\(error)")
            }
        }
    }

    /// Reads and validates a checkpoint's header (every check of the reference reader: size
    /// limit, JSON shape, dtype, offsets that tile the data exactly).
    public static func read(_ path: String) throws -> Contents {
        guard let bytes = FileManager.default.contents(atPath: path) else {
            throw TrainError("\(path): cannot read the checkpoint (missing or unreadable)")
        }
        func fail(_ why: String) -> TrainError { TrainError("\(path): not a valid safetensors checkpoint: \(why)") }
        guard bytes.count >= 8 else { throw fail("the file is \(bytes.count) bytes, shorter than the 8-byte header length") }
        let n = bytes.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard n <= UInt64(maxHeaderBytes) else { throw fail("header length \(n) exceeds the \(maxHeaderBytes)-byte limit") }
        guard 8 + Int(n) <= bytes.count else { throw fail("header length \(n) runs past the end of the \(bytes.count)-byte file") }
        let headerData = bytes.subdata(in: 8..<(8 + Int(n)))
        guard let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
            throw fail("the header is not a JSON object")
        }
        var metadata: [String: String] = [:]
        var tensors: [String: (shape: [Int], range: Range<Int>)] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value as? [String: String] else { throw fail("__metadata__ must map strings to strings") }
                metadata = m
                continue
            }
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2 else {
                throw fail("tensor \(name) lacks dtype, shape or data_offsets")
            }
            guard dtype == "F32" else { throw fail("tensor \(name) has dtype \(dtype); hybrid reads F32") }
            guard shape.allSatisfy({ $0 >= 0 }), offsets[0] >= 0, offsets[0] <= offsets[1] else { throw fail("tensor \(name) has a negative size or offset") }
            let (count, overflow) = shape.reduce((1, false)) { acc, d in
                let r = acc.0.multipliedReportingOverflow(by: d)
                return (r.partialValue, acc.1 || r.overflow)
            }
            guard !overflow, count.multipliedReportingOverflow(by: 4).overflow == false, offsets[1] - offsets[0] == count * 4 else {
                throw fail("tensor \(name): shape \(shape) does not match its \(offsets[1] - offsets[0]) bytes")
            }
            tensors[name] = (shape, offsets[0]..<offsets[1])
        }
        // The byte ranges must tile the data section exactly: sorted, no gaps, no overlaps.
        let dataStart = 8 + Int(n)
        var cursor = 0
        for (name, t) in tensors.sorted(by: { $0.value.range.lowerBound < $1.value.range.lowerBound }) {
            guard t.range.lowerBound == cursor else {
                throw fail("tensor \(name) starts at byte \(t.range.lowerBound), expected \(cursor) (offsets overlap or leave a gap)")
            }
            cursor = t.range.upperBound
        }
        guard cursor == bytes.count - dataStart else {
            throw fail("the tensors cover \(cursor) data bytes but the file holds \(bytes.count - dataStart) (truncated or trailing bytes)")
        }
        return Contents(metadata: metadata, tensors: tensors, bytes: bytes, dataStart: dataStart)
    }

    /// Copies every parameter of `store` from the checkpoint; the shapes must match, and the
    /// names too unless `requireAll` is false. Returns the parameters the checkpoint lacks
    /// (left as they were).
    @discardableResult
    public static func load(_ contents: Contents, into store: ParameterStore, path: String, requireAll: Bool = true) throws -> [String] {
        guard let values = store.values else { throw TrainError("parameters must be allocated before loading") }
        var missing: [String] = []
        for p in store.parameters {
            guard let t = contents.tensors[p.name] else {
                guard !requireAll else { throw TrainError("\(path): has no tensor \(p.name); it was written by a different model") }
                missing.append(p.name)
                continue
            }
            guard t.shape == p.shape else {
                throw TrainError("\(path): tensor \(p.name) has shape \(t.shape), the model expects \(p.shape)")
            }
            // Copy byte-wise: the data section need not be 4-byte aligned.
            contents.bytes.withUnsafeBytes { raw in
                UnsafeMutableRawPointer(values + p.offset).copyMemory(
                    from: raw.baseAddress! + contents.dataStart + t.range.lowerBound, byteCount: p.count * 4)
            }
        }
        return missing
    }

    /// Copies both AdamW moments of every parameter of `store` from a checkpoint written with
    /// `optimizer: true`.
    public static func loadOptimizer(_ contents: Contents, into store: ParameterStore, path: String) throws {
        guard store.moments != nil else { throw TrainError("parameters must be allocated before loading") }
        let largest = store.parameters.map(\.count).max() ?? 0
        let m = UnsafeMutablePointer<Float>.allocate(capacity: largest), v = UnsafeMutablePointer<Float>.allocate(capacity: largest)
        defer { m.deallocate(); v.deallocate() }
        for p in store.parameters {
            for (name, buffer) in [(firstMomentName(p.name), m), (secondMomentName(p.name), v)] {
                guard let t = contents.tensors[name], t.shape == p.shape else {
                    throw TrainError("\(path): has no optimizer state \(name) of shape \(p.shape); it cannot resume a run "
                        + "(checkpoints written by this version of hybrid train can)")
                }
                contents.bytes.withUnsafeBytes { raw in
                    UnsafeMutableRawPointer(buffer).copyMemory(
                        from: raw.baseAddress! + contents.dataStart + t.range.lowerBound, byteCount: p.count * 4)
                }
            }
            store.writeMoments(of: p, m: m, v: v)
        }
    }
}
