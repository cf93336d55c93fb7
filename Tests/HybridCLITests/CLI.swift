import Foundation

/// Runs the built `hybrid` executable (beside this test binary) and captures its output.
struct CLI {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var all: String { stdout + stderr }
    }

    static let buildFolder: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var url = URL(fileURLWithPath: exe).deletingLastPathComponent()
        // The test binary may sit inside an .xctest bundle folder.
        while !FileManager.default.fileExists(atPath: url.appendingPathComponent("hybrid").path), url.path != "/" {
            url = url.deletingLastPathComponent()
        }
        return url.path
    }()

    static var executable: String { buildFolder + "/hybrid" }

    /// The repository root (for recipes and bundled data).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// Open MPI's launcher, with what CI needs: root, and more ranks than cores.
    static let mpirun = ["/usr/bin/mpirun", "--allow-run-as-root", "--oversubscribe"]

    /// `mpirun … -np N hybrid arguments` (every rank the same arguments).
    static func mpi(_ ranks: Int, _ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        try run(Array(mpirun.dropFirst()) + ["-np", "\(ranks)", executable] + arguments, environment: environment, executable: mpirun[0])
    }

    static func run(_ arguments: [String], in folder: String? = nil, environment: [String: String] = [:],
                    executable: String = CLI.executable) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let folder { process.currentDirectoryURL = URL(fileURLWithPath: folder) }
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes while the process runs so a full pipe cannot block it.
        nonisolated(unsafe) var outData = Data()
        var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { outData = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        errData = err.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    /// `readelf -d` of the built executable: the libraries it links.
    static func dynamicSection() throws -> String {
        let readelf = Process()
        readelf.executableURL = URL(fileURLWithPath: "/usr/bin/readelf")
        readelf.arguments = ["-d", executable]
        let pipe = Pipe()
        readelf.standardOutput = pipe
        try readelf.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        readelf.waitUntilExit()
        return text
    }

    static func temporaryFolder() throws -> String {
        let path = NSTemporaryDirectory() + "hybrid-cli-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A tiny causal recipe over the bundled plays, written into `folder`.
    static func tinyRecipe(in folder: String, extra: String = "", objectives: String = "  - plugin: causal\n") throws -> String {
        let text = """
        device: cpu
        model: {d_model: 32, layers: 1, heads: 2, seq_len: 32}
        data:
          text: ["\(root)/data/shakespeare/*.txt"]
        objectives:
        \(objectives)optimizer: {lr: 3.0e-3}
        schedule: {warmup_steps: 5}
        training:
          steps: 40
          batch_size: 8
          eval_every: 20
          eval_batches: 2
          log_every: 10
          output: \(folder)/run
        \(extra)
        """
        let path = folder + "/tiny.yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
