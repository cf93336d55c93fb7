import CReadableMemory

/// Reads what a plugin's descriptor points at without trusting the pointer: a wild or
/// truncated pointer is reported, not followed into a segmentation fault.
enum ReadableMemory {
    /// A copy of the first `bytes` bytes of the `T` at `pointer` (the rest zero), or nil
    /// where any of them cannot be read.
    static func load<T>(_ pointer: UnsafePointer<T>, bytes: Int = MemoryLayout<T>.size) -> T? {
        let copy = UnsafeMutablePointer<T>.allocate(capacity: 1)
        defer { copy.deallocate() }
        let raw = UnsafeMutableRawPointer(copy)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<T>.size)
        guard hybrid_copy_readable(raw, pointer, min(bytes, MemoryLayout<T>.size)) != 0 else { return nil }
        return raw.load(as: T.self)
    }

    /// Whether all `count` values at `pointer` can be read.
    static func isReadable<T>(_ pointer: UnsafePointer<T>, count: Int) -> Bool {
        let bytes = count * MemoryLayout<T>.stride
        var scratch = [UInt8](repeating: 0, count: min(bytes, 4096))
        var offset = 0
        while offset < bytes {
            let chunk = min(bytes - offset, scratch.count)
            guard hybrid_copy_readable(&scratch, UnsafeRawPointer(pointer) + offset, chunk) != 0 else { return false }
            offset += chunk
        }
        return true
    }

    /// Why a C string could not be read.
    enum StringProblem: Error {
        case unreadable
        case unterminated
    }

    /// The NUL-terminated string at `pointer`, at most `limit` bytes long. Read a page at a
    /// time, so a short string at the end of the last readable page reads.
    static func string(_ pointer: UnsafePointer<CChar>, limit: Int) -> Result<String, StringProblem> {
        let page = 4096
        var bytes: [UInt8] = []
        var address = UnsafeRawPointer(pointer)
        while bytes.count <= limit {
            let toPageEnd = page - Int(bitPattern: address) % page
            var chunk = [UInt8](repeating: 0, count: min(toPageEnd, limit + 1 - bytes.count))
            guard hybrid_copy_readable(&chunk, address, chunk.count) != 0 else { return .failure(.unreadable) }
            if let end = chunk.firstIndex(of: 0) {
                return .success(String(decoding: bytes + chunk[..<end], as: UTF8.self))
            }
            bytes += chunk
            address += chunk.count
        }
        return .failure(.unterminated)
    }
}
