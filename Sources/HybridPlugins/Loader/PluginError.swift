/// Why a plugin could not be found, loaded or run. Every case names the file (or, for a name
/// that resolved nowhere, every folder searched), what the host expected and what it found.
public enum PluginError: Error, Equatable, Sendable {
    /// A recipe named `name`, and no folder on the search path holds its library.
    case notFound(name: String, fileName: String, searched: [PluginSearchPath.Entry])
    /// An explicit path (or a file that vanished after discovery) does not exist.
    case missingFile(path: String)
    /// The file is not an ELF shared object at all.
    case notALibrary(path: String, dlerror: String)
    /// An ELF file that `dlopen` refused (missing dependency, wrong architecture, …).
    case loadFailed(path: String, reason: String)
    /// The library loaded but exports no `hybrid_objective_entry`.
    case missingEntry(path: String, dlerror: String)
    /// The entry returned HYBRID_FAILED; `message` is what it wrote into the error buffer.
    case entryFailed(path: String, message: String)
    /// A struct's ABI version is not one this host accepts. `part` names the struct.
    case abiUnsupported(path: String, part: String, found: PluginABIVersion, host: PluginABIVersion)
    /// The descriptor or function table is malformed; `problem` says what was expected and found.
    case invalidDescriptor(path: String, problem: String)
    /// The host's config values do not match the keys the plugin declared.
    case invalidConfig(path: String, problem: String)
    /// The objective declares no sample function.
    case cannotSample(path: String, name: String)
    /// A plugin function returned HYBRID_FAILED (or broke its contract); `message` says why.
    case pluginFailed(path: String, function: String, message: String)
    /// A refused file that hides later files of the same name on the search path.
    indirect case shadowing(PluginError, hides: [String])

    /// The file the error is about; nil for a name that resolved nowhere.
    public var path: String? {
        switch self {
        case .notFound: nil
        case .missingFile(let path), .notALibrary(let path, _), .loadFailed(let path, _),
             .missingEntry(let path, _), .entryFailed(let path, _),
             .abiUnsupported(let path, _, _, _), .invalidDescriptor(let path, _),
             .invalidConfig(let path, _), .cannotSample(let path, _),
             .pluginFailed(let path, _, _):
            path
        case .shadowing(let error, _):
            error.path
        }
    }

    /// The message without the leading path: what a listing shows beside the file.
    public var reason: String {
        switch self {
        case .notFound(let name, let fileName, let searched):
            let folders = searched.map { "  \($0.folder) (\($0.origin.label))" }
            return "no objective plugin named \"\(name)\": \(fileName) is in none of the "
                + "\(searched.count) folders searched:\n" + folders.joined(separator: "\n")
        case .missingFile:
            return "no such file"
        case .notALibrary(_, let dlerror):
            return "not a shared library (expected an ELF shared object; dlopen: \(dlerror))"
        case .loadFailed(_, let reason):
            return "could not be loaded: \(reason)"
        case .missingEntry(_, let dlerror):
            return "no symbol \(PluginABI.entrySymbol); expected an objective plugin built "
                + "against hybrid_plugin.h (dlsym: \(dlerror))"
        case .entryFailed(_, let message):
            return "entry returned an error: \(message)"
        case .abiUnsupported(_, let part, let found, let host):
            let subject = part == "descriptor" ? "ABI version" : "\(part) ABI version"
            if found.major != host.major {
                return "\(subject) \(found) is not supported by this host (\(host)); "
                    + "rebuild the plugin against hybrid_plugin.h \(host.major).x"
            }
            return "\(subject) \(found) is newer than this host's (\(host)); use a newer "
                + "hybrid, or rebuild the plugin against hybrid_plugin.h \(host)"
        case .invalidDescriptor(_, let problem):
            return "invalid descriptor: \(problem)"
        case .invalidConfig(_, let problem):
            return "invalid config: \(problem)"
        case .cannotSample(_, let name):
            return "objective \"\(name)\" cannot sample (its sample function is NULL)"
        case .pluginFailed(_, let function, let message):
            return "\(function) failed: \(message)"
        case .shadowing(let error, let hides):
            return error.reason + "; this file shadows " + hides.joined(separator: ", ")
                + " (the same name later on the search path): move it off the path, or name the plugin you mean by its path"
        }
    }
}

extension PluginError: CustomStringConvertible {
    public var description: String {
        if let path { "\(path): \(reason)" } else { reason }
    }
}
