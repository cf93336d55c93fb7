import Foundation

/// Writes a file so that readers see either the old contents or the new, never a mix:
/// temporary file in the same folder, fsync, rename over the target, fsync of the folder.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        let temp = "\(folder)/.\(url.lastPathComponent).\(getpid())\(temporarySuffix)"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw TrainError("cannot write \(path): \(String(cString: strerror(errno)))") }
        var ok = data.withUnsafeBytes { raw -> Bool in
            var done = 0
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 { if errno == EINTR { continue }; return false }
                done += n
            }
            return true
        }
        let writeErrno = errno
        ok = ok && fsync(fd) == 0
        close(fd)
        guard ok, rename(temp, path) == 0 else {
            let reason = String(cString: strerror(ok ? errno : writeErrno))
            unlink(temp)
            throw TrainError("cannot write \(path): \(reason); any earlier file there is left as it was")
        }
        let dir = open(folder, O_RDONLY | O_DIRECTORY)
        if dir >= 0 { fsync(dir); close(dir) }
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
