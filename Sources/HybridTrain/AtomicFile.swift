import Foundation

/// Writes a file so that readers see either the old contents or the new, never a mix:
/// temporary file in the same folder, fsync, rename over the target, fsync of the folder.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String) throws {
        try write(to: path) { file in data.withUnsafeBytes { file.append($0) } }
    }

    /// Streams the file through `body`, so a large file (a checkpoint) never needs a second
    /// copy in memory.
    public static func write(to path: String, _ body: (Stream) throws -> Void) throws {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        let temp = "\(folder)/.\(url.lastPathComponent).\(getpid())\(temporarySuffix)"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw TrainError("cannot write \(path): \(String(cString: strerror(errno)))") }
        let stream = Stream(fd: fd)
        var failure: Error?
        do { try body(stream) } catch { failure = error }
        let ok = failure == nil && stream.failed == nil && fsync(fd) == 0
        let reason = stream.failed ?? errno
        close(fd)
        guard ok, rename(temp, path) == 0 else {
            unlink(temp)
            if let failure { throw failure }
            throw TrainError("cannot write \(path): \(String(cString: strerror(ok ? errno : reason))); any earlier file there is left as it was")
        }
        let dir = open(folder, O_RDONLY | O_DIRECTORY)
        if dir >= 0 { fsync(dir); close(dir) }
    }

    /// The temporary file a write goes to; after a failed write it takes no more bytes.
    public final class Stream {
        let fd: Int32
        /// The errno of the first failed write.
        fileprivate(set) var failed: Int32?

        init(fd: Int32) { self.fd = fd }

        public func append(_ raw: UnsafeRawBufferPointer) {
            guard failed == nil, var at = raw.baseAddress else { return }
            let end = at + raw.count
            while at < end {
                let n = Glibc.write(fd, at, end - at)
                if n < 0 {
                    if errno == EINTR { continue }
                    failed = errno
                    return
                }
                at += n
            }
        }

        public func append<T>(_ buffer: UnsafeBufferPointer<T>) { append(UnsafeRawBufferPointer(buffer)) }
    }

    static let temporarySuffix = ".tmp"

    /// Removes the temporary files in `folder` that writes of processes no longer running left
    /// behind (a write killed before its rename), and returns their paths. A live process's
    /// file — another rank's write under way — is left alone.
    public static func removeLeftovers(in folder: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.sorted().compactMap { name -> String? in
            // ".TARGET.PID.tmp"
            guard name.hasPrefix("."), name.hasSuffix(temporarySuffix) else { return nil }
            let parts = name.dropLast(temporarySuffix.count).split(separator: ".")
            guard parts.count >= 2, let pid = pid_t(parts[parts.count - 1]), pid > 0,
                  kill(pid, 0) != 0, errno == ESRCH else { return nil }
            let path = (folder as NSString).appendingPathComponent(name)
            return unlink(path) == 0 ? path : nil
        }
    }
}
