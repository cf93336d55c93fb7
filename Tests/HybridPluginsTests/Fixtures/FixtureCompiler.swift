import Foundation
import Testing

/// Builds real plugin libraries at test time with the system C compiler, into a fresh
/// temporary folder per test.
struct FixtureCompiler {
    /// The checkout this file lives in: Tests/HybridPluginsTests/Fixtures/ is three below it.
    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let includeFolder = repositoryRoot.appendingPathComponent("Sources/CHybridPlugin/include")
    static let header = includeFolder.appendingPathComponent("hybrid_plugin.h")

    let folder: URL

    init() throws {
        folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("hybrid-plugin-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    func removeAll() {
        try? FileManager.default.removeItem(at: folder)
    }

    /// A subfolder, created on demand.
    func subfolder(_ name: String) throws -> String {
        let url = folder.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    /// Compiles `source` with `defines` (NAME or NAME=VALUE) into `fileName` inside
    /// `subfolder` (or the test's folder) and returns the library's path.
    @discardableResult
    func compile(_ source: String, into fileName: String, in subfolder: String? = nil,
                 defines: [String] = []) throws -> String {
        let folderPath = try subfolder.map(self.subfolder) ?? folder.path
        let sourcePath = (folderPath as NSString).appendingPathComponent(fileName + ".c")
        let libraryPath = (folderPath as NSString).appendingPathComponent(fileName)
        try source.write(toFile: sourcePath, atomically: true, encoding: .utf8)

        let compiler = Process()
        compiler.executableURL = URL(fileURLWithPath: "/usr/bin/cc")
        compiler.arguments = ["-shared", "-fPIC", "-std=c11", "-Wall", "-Werror",
                              "-Wno-unused-parameter", "-I", Self.includeFolder.path]
            + defines.map { "-D" + $0 } + [sourcePath, "-o", libraryPath]
        let errors = Pipe()
        compiler.standardError = errors
        try compiler.run()
        let diagnostics = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(),
                                 as: UTF8.self)
        compiler.waitUntilExit()
        guard compiler.terminationStatus == 0 else {
            throw FixtureError.compileFailed(fileName: fileName, diagnostics: diagnostics)
        }
        return libraryPath
    }

    /// Writes `bytes` as a file named `fileName` and returns its path.
    func write(_ bytes: [UInt8], as fileName: String) throws -> String {
        let path = folder.appendingPathComponent(fileName).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }
}

enum FixtureError: Error, CustomStringConvertible {
    case compileFailed(fileName: String, diagnostics: String)
    case exampleNotFound

    var description: String {
        switch self {
        case .compileFailed(let fileName, let diagnostics): "cc failed for \(fileName):\n\(diagnostics)"
        case .exampleNotFound: "no worked example between the ─── rulers of hybrid_plugin.h"
        }
    }
}
