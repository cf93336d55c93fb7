import Foundation

/// Where a plugin library was found.
public enum PluginOrigin: String, Sendable, Equatable, CaseIterable {
    /// A folder listed under the recipe's `plugin_paths`.
    case recipe
    /// An entry of the `HYBRID_PLUGIN_PATH` environment variable.
    case environment
    /// The folder of the running executable.
    case executable
    /// The system plugin folder, `/usr/local/lib/hybrid/plugins`.
    case system
    /// A recipe's `plugin:` value that is a path, used as is.
    case explicitPath

    /// How `hybrid plugins` names the origin.
    public var label: String {
        switch self {
        case .recipe: "recipe plugin_paths"
        case .environment: PluginSearchPath.environmentVariable
        case .executable: "beside the executable"
        case .system: "system folder"
        case .explicitPath: "explicit path"
        }
    }
}

/// The ordered folders searched for `libhybrid-objective-*.so`: the recipe's `plugin_paths`,
/// then `HYBRID_PLUGIN_PATH`, then the executable's folder, then the system folder.
public struct PluginSearchPath: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public let folder: String
        public let origin: PluginOrigin

        public init(folder: String, origin: PluginOrigin) {
            self.folder = folder
            self.origin = origin
        }
    }

    public static let environmentVariable = "HYBRID_PLUGIN_PATH"
    public static let systemFolder = "/usr/local/lib/hybrid/plugins"

    /// The folders in search order; a folder listed twice keeps only its first place.
    public let entries: [Entry]

    public init(entries: [Entry]) {
        var seen = Set<String>()
        self.entries = entries.filter { seen.insert(Self.normalized($0.folder)).inserted }
    }

    /// The standard path. `recipeFolders` are used as given (the caller resolves relative
    /// folders against the recipe's own folder); `environment` is passed in so that tests
    /// need not touch the process environment.
    public static func standard(
        recipeFolders: [String] = [],
        environment: [String: String] = ProcessInfo.processInfo.environment,
        executableFolder: String? = PluginSearchPath.executableFolder(),
        systemFolder: String = PluginSearchPath.systemFolder
    ) -> PluginSearchPath {
        var entries = recipeFolders.map { Entry(folder: $0, origin: .recipe) }
        let fromEnvironment = (environment[environmentVariable] ?? "")
            .split(separator: ":", omittingEmptySubsequences: true)
        entries += fromEnvironment.map { Entry(folder: String($0), origin: .environment) }
        if let executableFolder {
            entries.append(Entry(folder: executableFolder, origin: .executable))
        }
        entries.append(Entry(folder: systemFolder, origin: .system))
        return PluginSearchPath(entries: entries)
    }

    /// The folder of the running executable, from `/proc/self/exe`.
    public static func executableFolder() -> String? {
        guard let executable = try? FileManager.default.destinationOfSymbolicLink(
            atPath: "/proc/self/exe") else { return nil }
        return (executable as NSString).deletingLastPathComponent
    }

    private static func normalized(_ folder: String) -> String {
        (folder as NSString).standardizingPath
    }
}
