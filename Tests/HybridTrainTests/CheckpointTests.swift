import Foundation
import HybridCore
import HybridTrain
import Testing

@Suite struct CheckpointTests {
    static func store(seed: UInt64, wide: Int = 3) throws -> ParameterStore {
        let store = ParameterStore()
        _ = try store.declare("a.weight", shape: [wide, 5], initializer: .normal(std: 1), decay: true)
        _ = try store.declare("a.bias", shape: [wide], initializer: .normal(std: 1), decay: false)
        _ = try store.declare("b", shape: [7], initializer: .normal(std: 1), decay: false)
        store.materialize(seed: seed)
        return store
    }

    static func values(_ s: ParameterStore) -> [Float] {
        s.parameters.flatMap { p in Array(UnsafeBufferPointer(start: s.values! + p.offset, count: p.count)) }
    }

    func temporaryFolder() throws -> String {
        let path = NSTemporaryDirectory() + "hybrid-ckpt-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func roundTripsValuesShapesAndMetadata() throws {
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let a = try Self.store(seed: 1)
        try Checkpoint.write(a, metadata: ["step": "42", "recipe": "model: {}\n"], to: "\(dir)/m.safetensors")
        let contents = try Checkpoint.read("\(dir)/m.safetensors")
        #expect(contents.metadata["step"] == "42")
        #expect(contents.metadata["recipe"] == "model: {}\n")
        #expect(contents.tensors["a.weight"]?.shape == [3, 5])
        let b = try Self.store(seed: 2)
        #expect(Self.values(a) != Self.values(b))
        try Checkpoint.load(contents, into: b, path: "m")
        #expect(Self.values(a) == Self.values(b))
        // The header is 8-byte aligned and no temporary file is left behind.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/m.safetensors"))
        #expect(bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) } % 8 == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["m.safetensors"])
    }

    @Test func refusesAModelOfAnotherShape() throws {
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Checkpoint.write(try Self.store(seed: 1), metadata: [:], to: "\(dir)/m.safetensors")
        let other = try Self.store(seed: 1, wide: 4)
        #expect(throws: TrainError.self) { try Checkpoint.load(Checkpoint.read("\(dir)/m.safetensors"), into: other, path: "m") }
        do {
            try Checkpoint.load(Checkpoint.read("\(dir)/m.safetensors"), into: other, path: "m")
        } catch {
            #expect("\(error)".contains("a.weight has shape [3, 5], the model expects [4, 5]"), "\(error)")
        }
    }

    @Test(arguments: ["truncated", "header past end", "overlapping", "not json", "tiny"])
    func rejectsDamagedFiles(damage: String) throws {
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/m.safetensors"
        try Checkpoint.write(try Self.store(seed: 1), metadata: [:], to: path)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let headerLength = Int(bytes[0]) | Int(bytes[1]) << 8
        switch damage {
        case "truncated": bytes.removeLast(5)
        case "header past end": bytes.replaceSubrange(0..<8, with: withUnsafeBytes(of: UInt64(bytes.count).littleEndian) { Data($0) })
        case "overlapping":
            var header = String(decoding: bytes[8..<(8 + headerLength)], as: UTF8.self)
            header = header.replacingOccurrences(of: "\"data_offsets\":[60,72]", with: "\"data_offsets\":[56,68]")
            #expect(header.utf8.count == headerLength)
            bytes.replaceSubrange(8..<(8 + headerLength), with: Data(header.utf8))
        case "not json": bytes[8] = UInt8(ascii: "x")
        default: bytes = bytes.prefix(5)
        }
        try bytes.write(to: URL(fileURLWithPath: path))
        #expect(throws: TrainError.self, "\(damage)") { _ = try Checkpoint.read(path) }
    }

    /// A write that fails — the disk fills up (a 64 KiB tmpfs, when running as root, as CI
    /// does) or the folder is read-only (otherwise) — throws, leaves the earlier checkpoint
    /// byte for byte, and leaves no temporary file behind.
    @Test func aFailedWriteLeavesTheEarlierCheckpoint() throws {
        let dir = try temporaryFolder()
        let isRoot = getuid() == 0
        if isRoot {
            let mounted = Process()
            mounted.executableURL = URL(fileURLWithPath: "/bin/mount")
            mounted.arguments = ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir]
            try mounted.run()
            mounted.waitUntilExit()
            try #require(mounted.terminationStatus == 0, "could not mount a small tmpfs at \(dir)")
        }
        defer {
            if isRoot {
                let p = Process()
                p.executableURL = URL(fileURLWithPath: "/bin/umount")
                p.arguments = [dir]
                try? p.run()
                p.waitUntilExit()
            } else {
                chmod(dir, 0o755)
            }
            try? FileManager.default.removeItem(atPath: dir)
        }
        let path = "\(dir)/m.safetensors"
        try Checkpoint.write(try Self.store(seed: 1), metadata: ["step": "1"], to: path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        if !isRoot { chmod(dir, 0o555) }
        // 40,000 x 5 floats = 800 KB: more than the tmpfs holds.
        let big = try Self.store(seed: 2, wide: 40_000)
        #expect(throws: TrainError.self) { try Checkpoint.write(big, metadata: ["step": "2"], to: path) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        #expect(try Checkpoint.read(path).metadata["step"] == "1")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["m.safetensors"])
    }
}
