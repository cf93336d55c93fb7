// What C plugins get from hybrid_plugin.h's macros and inline functions, which Swift does not
// import: HYBRID_STRUCT_HEADER, hybrid_fail, and storage that outlives every call.
import CHybridPlugin

/// HYBRID_STRUCT_HEADER(T): the C sizeof (Swift's stride) and the ABI version built against.
func header<T>(of type: T.Type) -> hybrid_struct_header {
    hybrid_struct_header(size: UInt32(MemoryLayout<T>.stride),
                         abi_major: UInt16(HYBRID_ABI_MAJOR), abi_minor: UInt16(HYBRID_ABI_MINOR))
}

/// hybrid_fail: writes `message` (truncated to fit, NUL-terminated) into the host's buffer.
func fail(_ err: UnsafeMutablePointer<hybrid_error>?, _ message: String) -> hybrid_status {
    if let err, let buffer = err.pointee.message, err.pointee.capacity > 0 {
        let bytes = message.utf8.prefix(err.pointee.capacity - 1)
        var end = 0
        for byte in bytes {
            buffer[end] = CChar(bitPattern: byte)
            end += 1
        }
        buffer[end] = 0
    }
    return HYBRID_FAILED
}

/// A copy of `value` in memory that is never freed.
func permanent<T>(_ value: T) -> UnsafeMutablePointer<T> {
    let pointer = UnsafeMutablePointer<T>.allocate(capacity: 1)
    pointer.initialize(to: value)
    return pointer
}

/// A NUL-terminated copy of `string` that is never freed.
func permanent(_ string: String) -> UnsafePointer<CChar> {
    let bytes = string.utf8CString
    let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count)
    pointer.initialize(from: Array(bytes), count: bytes.count)
    return UnsafePointer(pointer)
}
