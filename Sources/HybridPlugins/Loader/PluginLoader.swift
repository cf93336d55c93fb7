import CHybridPlugin
import Glibc
import Synchronization

/// Opens objective plugins: `dlopen` (RTLD_NOW | RTLD_LOCAL), the entry symbol, the ABI
/// checks. A library is opened once per real path and never closed; later loads of the same
/// file, under any name, reuse what the first load found.
public enum PluginLoader {
    /// The runtime version handed to plugins in `hybrid_host_info.host_version`.
    public static let hostVersion = "0.1.0"

    /// Finds `reference` (a name or an explicit path) on `searchPath` and loads it.
    public static func load(_ reference: String,
                            searchPath: PluginSearchPath) throws(PluginError) -> LoadedPlugin {
        try load(searchPath.resolve(reference))
    }

    /// Loads the library at `candidate.path`; a refusal of a file that shadows others says so.
    public static func load(_ candidate: PluginCandidate) throws(PluginError) -> LoadedPlugin {
        do throws(PluginError) {
            return LoadedPlugin(image: try image(at: candidate.path), candidate: candidate)
        } catch {
            throw candidate.shadows.isEmpty ? error : .shadowing(error, hides: candidate.shadows)
        }
    }

    private static let images = Mutex<[String: PluginImage]>([:])

    private static func image(at path: String) throws(PluginError) -> PluginImage {
        let realPath = try resolvedPath(path)
        // Loading under the lock makes "opened once" hold when two threads load one file.
        return try images.withLock { (images: inout [String: PluginImage]) throws(PluginError) -> PluginImage in
            if let image = images[realPath] { return image }
            let image = try open(realPath, path: path)
            images[realPath] = image
            return image
        }
    }

    private static func resolvedPath(_ path: String) throws(PluginError) -> String {
        guard let resolved = realpath(path, nil) else {
            let code = errno
            if code == ENOENT || code == ENOTDIR { throw .missingFile(path: path) }
            throw .loadFailed(path: path, reason: String(cString: strerror(code)))
        }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private static func open(_ realPath: String, path: String) throws(PluginError) -> PluginImage {
        guard let handle = dlopen(realPath, RTLD_NOW | RTLD_LOCAL) else {
            let reason = lastDLError()
            if hasELFMagic(realPath) { throw .loadFailed(path: path, reason: reason) }
            throw .notALibrary(path: path, dlerror: reason)
        }
        _ = dlerror()
        guard let symbol = dlsym(handle, PluginABI.entrySymbol) else {
            throw .missingEntry(path: path, dlerror: lastDLError())
        }
        let entry = unsafeBitCast(symbol, to: hybrid_objective_entry_fn.self)

        var descriptor: UnsafePointer<hybrid_objective_descriptor>?
        let errorBuffer = PluginErrorBuffer()
        let status = withUnsafePointer(to: hostInfo) { host in
            entry(host, &descriptor, errorBuffer.prepared())
        }
        guard status == HYBRID_OK else { throw .entryFailed(path: path, message: errorBuffer.message) }
        return try PluginImage(descriptor: descriptor, handle: handle, realPath: realPath, path: path)
    }

    /// The host info handed to every entry; its version string lives as long as the process,
    /// so a plugin may keep the pointer.
    private nonisolated(unsafe) static let hostInfo = hybrid_host_info(
        header: PluginABI.header(for: hybrid_host_info.self),
        host_version: UnsafePointer(strdup(hostVersion)))

    private static func lastDLError() -> String {
        dlerror().map { String(cString: $0) } ?? "no reason given"
    }

    private static func hasELFMagic(_ path: String) -> Bool {
        guard let file = fopen(path, "rb") else { return false }
        defer { fclose(file) }
        var magic = [UInt8](repeating: 0, count: 4)
        return fread(&magic, 1, 4, file) == 4 && magic == [0x7F, 0x45, 0x4C, 0x46]
    }
}
