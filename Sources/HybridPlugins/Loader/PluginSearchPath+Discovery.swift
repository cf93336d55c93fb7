import Foundation

/// A file on the search path (or named explicitly) that may hold an objective plugin.
public struct PluginCandidate: Sendable, Equatable {
    public let path: String
    public let origin: PluginOrigin
    /// The later files on the search path with the same file name, which this one hides from
    /// a recipe naming the plugin (a bundled plugin, say, behind one on `HYBRID_PLUGIN_PATH`).
    public let shadows: [String]

    public init(path: String, origin: PluginOrigin, shadows: [String] = []) {
        self.path = path
        self.origin = origin
        self.shadows = shadows
    }

    public var fileName: String { (path as NSString).lastPathComponent }

    /// NAME for a file named `libhybrid-objective-NAME.so`; nil for any other file name.
    public var nameFromFile: String? { PluginSearchPath.pluginName(fileName: fileName) }
}

extension PluginSearchPath {
    public static let filePrefix = "libhybrid-objective-"
    public static let fileSuffix = ".so"

    public static func fileName(forPlugin name: String) -> String {
        filePrefix + name + fileSuffix
    }

    public static func pluginName(fileName: String) -> String? {
        guard fileName.hasPrefix(filePrefix), fileName.hasSuffix(fileSuffix),
              fileName.count > filePrefix.count + fileSuffix.count else { return nil }
        return String(fileName.dropFirst(filePrefix.count).dropLast(fileSuffix.count))
    }

    /// Is a recipe's `plugin:` value a path (used as is) rather than a name to search for?
    public static func isExplicitPath(_ reference: String) -> Bool {
        reference.contains("/") || reference.hasSuffix(fileSuffix)
    }

    /// Every `libhybrid-objective-*.so` on the path: folders in search order, files sorted by
    /// name within a folder. Missing or unreadable folders contribute nothing.
    public func candidates() -> [PluginCandidate] {
        entries.flatMap { entry -> [PluginCandidate] in
            let names = (try? FileManager.default.contentsOfDirectory(atPath: entry.folder)) ?? []
            return names
                .filter { Self.pluginName(fileName: $0) != nil }
                .sorted()
                .map { (entry.folder as NSString).appendingPathComponent($0) }
                .filter(Self.isFile)
                .map { PluginCandidate(path: $0, origin: entry.origin) }
        }
    }

    /// The file a recipe's `plugin:` value refers to: an explicit path as is (which must
    /// exist), or the first `libhybrid-objective-NAME.so` on the path, with the later ones it
    /// shadows.
    public func resolve(_ reference: String) throws(PluginError) -> PluginCandidate {
        if Self.isExplicitPath(reference) {
            guard Self.isFile(reference) else { throw .missingFile(path: reference) }
            return PluginCandidate(path: reference, origin: .explicitPath)
        }
        let fileName = Self.fileName(forPlugin: reference)
        let found = entries.map { ((($0.folder as NSString).appendingPathComponent(fileName)), $0.origin) }
            .filter { Self.isFile($0.0) }
        guard let (path, origin) = found.first else {
            throw .notFound(name: reference, fileName: fileName, searched: entries)
        }
        return PluginCandidate(path: path, origin: origin, shadows: found.dropFirst().map(\.0))
    }

    /// A regular file, or a link to one.
    static func isFile(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            && !isDirectory.boolValue
    }
}
