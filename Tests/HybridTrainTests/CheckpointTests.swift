import Foundation
import HybridCore
import HybridTestSupport
import HybridTrain
import Testing

@Suite struct CheckpointTests {
    static func store(seed: UInt64, wide: Int = 3, moments: MomentPrecision = .fp32) throws -> ParameterStore {
        let store = ParameterStore()
        _ = try store.declare("a.weight", shape: [wide, 5], initializer: .normal(std: 1), decay: true)
        _ = try store.declare("a.bias", shape: [wide], initializer: .normal(std: 1), decay: false)
        _ = try store.declare("b", shape: [7], initializer: .normal(std: 1), decay: false)
        store.materialize(seed: seed, moments: moments)
        return store
    }

    /// Both moments of every parameter, widened to fp32.
    static func moments(_ s: ParameterStore) -> [Float] {
        s.parameters.flatMap { p -> [Float] in
            var m = [Float](repeating: 0, count: p.count), v = m
            s.readMoments(of: p, m: &m, v: &v)
            return m + v
        }
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

    /// The file holds fp32 moments whatever the run held: bfloat16 pairs widen exactly, and a
    /// run may resume with the other precision.
    @Test(arguments: [(MomentPrecision.bfloat16, MomentPrecision.fp32), (.fp32, .bfloat16), (.bfloat16, .bfloat16)])
    func optimizerStateCrossesMomentPrecisions(written: MomentPrecision, read: MomentPrecision) throws {
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let a = try Self.store(seed: 1, moments: written)
        var rng = SeededRNG(seed: 4)
        for p in a.parameters {
            let m = rng.normal(count: p.count), v = rng.uniform(count: p.count)
            a.writeMoments(of: p, m: m, v: v)
        }
        try Checkpoint.write(a, metadata: [:], optimizer: true, to: "\(dir)/m.safetensors")
        let contents = try Checkpoint.read("\(dir)/m.safetensors")
        #expect(contents.tensors[Checkpoint.secondMomentName("a.weight")]?.shape == [3, 5])
        let b = try Self.store(seed: 2, moments: read)
        try Checkpoint.loadOptimizer(contents, into: b, path: "m")
        let stored = Self.moments(a), got = Self.moments(b)
        #expect(stored.contains { $0 != 0 })
        if read == .fp32 || written == read {
            #expect(got == stored)
        } else {
            #expect(got == stored.map { BFloat16.float(BFloat16.nearest($0)) })
        }
    }

    /// A recipe that no longer reads (a key an older hybrid wrote) is reported against the
    /// checkpoint that holds it and the stored text's line, not against today's recipe file.
    @Test func storedRecipeErrorsNameTheCheckpoint() throws {
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let recipe = "model: {d_model: 8, layers: 1, heads: 1, seq_len: 4}\ndata: {text: t.txt}\n"
            + "objectives: [{plugin: causal}]\ntraining:\n  steps: 1\n  checkpoint_every: 5\n"
        try Checkpoint.write(try Self.store(seed: 1), metadata: ["recipe": recipe, "recipe_path": "\(dir)/r.yaml"], to: "\(dir)/m.safetensors")
        let contents = try Checkpoint.read("\(dir)/m.safetensors")
        let error = try #require(throws: TrainError.self) { _ = try contents.recipe(checkpoint: "\(dir)/m.safetensors", requireData: false) }
        let text = "\(error)"
        #expect(text.contains("\(dir)/m.safetensors: the recipe stored in this checkpoint does not read"))
        #expect(text.contains("\(dir)/m.safetensors (its recipe):6:3: training.checkpoint_every: unknown key"))
        #expect(!text.contains("r.yaml:"))
    }

    /// Runs `python3 -c script args…` and returns its stdout as JSON.
    static func python(_ script: String, _ arguments: [String]) throws -> [String: Any] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script] + arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        try #require(p.terminationStatus == 0, "python3 failed (scripts/test installs safetensors and numpy with pip): \(errors)")
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// The reference implementation reads hybrid's checkpoints: names, shapes, values and
    /// metadata through `safetensors.numpy.load_file` and `safe_open`; hybrid reads one whose
    /// data section is not aligned, and so does the reference.
    @Test func pythonSafetensorsReadsOurCheckpointsAndWeReadUnalignedOnes() throws {
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Self.store(seed: 3)
        try Checkpoint.write(store, metadata: ["step": "7", "recipe": "model: {d_model: 8}\n"], to: "\(dir)/m.safetensors")
        // The same tensors with the header's alignment padding removed: data starts at an odd offset.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/m.safetensors"))
        let n = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        var header = Data(bytes[8..<(8 + n)])
        while header.last == 0x20 { header.removeLast() }
        while (8 + header.count) % 4 != 1 { header.append(0x20) }   // data one byte past a 4-byte boundary
        bytes.replaceSubrange(0..<(8 + n), with: withUnsafeBytes(of: UInt64(header.count).littleEndian) { Data($0) } + header)
        try bytes.write(to: URL(fileURLWithPath: "\(dir)/unaligned.safetensors"))
        let unaligned = try Checkpoint.read("\(dir)/unaligned.safetensors")
        #expect(unaligned.dataStart % 4 != 0)
        let reloaded = try Self.store(seed: 9)
        try Checkpoint.load(unaligned, into: reloaded, path: "unaligned")
        #expect(Self.values(reloaded) == Self.values(store))

        let script = """
        import json, sys
        from safetensors import safe_open
        from safetensors.numpy import load_file
        out = {}
        for path in sys.argv[1:]:
            tensors = load_file(path)
            with safe_open(path, framework="np") as f:
                meta = f.metadata()
            out[path] = {"tensors": {k: {"dtype": str(v.dtype), "shape": list(v.shape), "values": [float(x) for x in v.ravel()]}
                                     for k, v in tensors.items()}, "metadata": meta}
        print(json.dumps(out))
        """
        let result = try Self.python(script, ["\(dir)/m.safetensors", "\(dir)/unaligned.safetensors"])
        for file in ["m", "unaligned"] {
            let entry = try #require(result["\(dir)/\(file).safetensors"] as? [String: Any])
            let tensors = try #require(entry["tensors"] as? [String: [String: Any]])
            #expect(Set(tensors.keys) == Set(store.parameters.map(\.name)), "\(file)")
            for p in store.parameters {
                let t = try #require(tensors[p.name])
                #expect(t["dtype"] as? String == "float32" && t["shape"] as? [Int] == p.shape, "\(file) \(p.name)")
                let values = (t["values"] as? [Double] ?? []).map(Float.init)
                #expect(values == Array(UnsafeBufferPointer(start: store.values! + p.offset, count: p.count)), "\(file) \(p.name)")
            }
            let meta = try #require(entry["metadata"] as? [String: String])
            #expect(meta["step"] == "7" && meta["recipe"] == "model: {d_model: 8}\n" && meta["format"] == Checkpoint.formatTag, "\(meta)")
        }
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

    /// Mutated headers — numbers swapped for edge values (negative, 2³¹, 2⁶³ − 1, 10³⁰, beyond
    /// UInt64), bytes flipped, the header cut short or its length word changed — are each
    /// refused with a TrainError or load as a well-formed checkpoint; none traps. Seeded and
    /// bounded: 3,000 mutations.
    @Test func mutatedHeadersAreRefusedWithoutATrap() throws {
        let dir = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/m.safetensors"
        try Checkpoint.write(try Self.store(seed: 1), metadata: ["recipe": "model: {d_model: 8}"], to: path)
        let good = try Data(contentsOf: URL(fileURLWithPath: path))
        let headerLength = Int(good.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        let header = String(decoding: good[8..<(8 + headerLength)], as: UTF8.self), data = good[(8 + headerLength)...]
        let numbers = header.matches(of: #/[0-9]+/#).map(\.range)
        let edges = ["-1", "0", "2147483648", "9223372036854775807", "9223372036854775808", "1e30", "18446744073709551616", "-9223372036854775808"]
        var rng = SeededRNG(seed: 1234)
        var refused = 0, loaded = 0
        for _ in 0..<3000 {
            var text = header, length: UInt64? = nil
            switch rng.next() % 4 {
            case 0, 1:
                for _ in 0...(rng.next() % 3) {
                    let range = numbers[Int(rng.next() % UInt64(numbers.count))]
                    guard range.upperBound <= text.endIndex else { continue }
                    text.replaceSubrange(range, with: edges[Int(rng.next() % UInt64(edges.count))])
                }
            case 2:
                var bytes = Array(text.utf8)
                bytes[Int(rng.next() % UInt64(bytes.count))] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
                text = String(decoding: bytes, as: UTF8.self)
            default:
                length = [0, 1, UInt64(headerLength) - 1, UInt64(headerLength) + 1, UInt64.max, 1 << 40][Int(rng.next() % 6)]
            }
            let bytes = Data(text.utf8)
            var file = withUnsafeBytes(of: (length ?? UInt64(bytes.count)).littleEndian) { Data($0) }
            file.append(bytes)
            file.append(data)
            try file.write(to: URL(fileURLWithPath: path))
            do {
                let contents = try Checkpoint.read(path)
                try Checkpoint.load(contents, into: try Self.store(seed: 2), path: path)
                loaded += 1
            } catch is TrainError {
                refused += 1
            }
        }
        #expect(refused + loaded == 3000 && refused > 2500, "\(refused) refused, \(loaded) loaded")
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
