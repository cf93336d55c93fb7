import CHybridPlugin
import Glibc

/// The host-owned buffer a plugin writes its error message into (`hybrid_error`). One per
/// caller; emptied before each call so a message never outlives the call that wrote it.
final class PluginErrorBuffer {
    static let capacity = 1024

    private let storage: UnsafeMutablePointer<CChar>
    private let error: UnsafeMutablePointer<hybrid_error>

    init() {
        storage = .allocate(capacity: Self.capacity)
        storage.initialize(repeating: 0, count: Self.capacity)
        error = .allocate(capacity: 1)
        error.initialize(to: hybrid_error(message: storage, capacity: Self.capacity))
    }

    deinit {
        error.deinitialize(count: 1)
        error.deallocate()
        storage.deinitialize(count: Self.capacity)
        storage.deallocate()
    }

    /// Empties the message and returns the `hybrid_error *` to pass to the plugin.
    func prepared() -> UnsafeMutablePointer<hybrid_error> {
        storage[0] = 0
        error.pointee = hybrid_error(message: storage, capacity: Self.capacity)
        return error
    }

    /// What the plugin wrote, up to the first NUL or the buffer's end.
    var message: String {
        let length = strnlen(storage, Self.capacity)
        let text = String(decoding: UnsafeRawBufferPointer(start: storage, count: length),
                          as: UTF8.self)
        return text.isEmpty ? "(the plugin wrote no message)" : text
    }
}
