import CHybridPlugin

/// A major.minor ABI version, as carried in a `hybrid_struct_header`.
public struct PluginABIVersion: Sendable, Equatable, CustomStringConvertible {
    public let major: Int
    public let minor: Int

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    init(_ header: hybrid_struct_header) {
        self.init(major: Int(header.abi_major), minor: Int(header.abi_minor))
    }

    public var description: String { "\(major).\(minor)" }
}

/// The host's side of the versioning rules in hybrid_plugin.h.
public enum PluginABI {
    /// The version this host was compiled against.
    public static let host = PluginABIVersion(major: Int(HYBRID_ABI_MAJOR),
                                              minor: Int(HYBRID_ABI_MINOR))
    public static let entrySymbol = HYBRID_ENTRY_SYMBOL

    /// A header for a struct the host writes, like HYBRID_STRUCT_HEADER: the C `sizeof`
    /// (Swift's stride of the imported struct) and the host's version.
    public static func header<T>(for type: T.Type) -> hybrid_struct_header {
        hybrid_struct_header(size: UInt32(MemoryLayout<T>.stride),
                             abi_major: UInt16(HYBRID_ABI_MAJOR),
                             abi_minor: UInt16(HYBRID_ABI_MINOR))
    }

    /// The smallest sizes a plugin may declare: the end of each struct's last ABI 1.0 field.
    /// Fields appended in later minors lie past these, so the numbers stay put.
    static let descriptorSize1_0 =
        MemoryLayout<hybrid_objective_descriptor>.offset(of: \.functions)!
            + MemoryLayout<UnsafePointer<hybrid_objective_functions>?>.size
    static let functionsSize1_0 =
        MemoryLayout<hybrid_objective_functions>.offset(of: \.sample)!
            + MemoryLayout<UnsafeRawPointer?>.size

    /// Refuses a struct header whose version this host cannot read, or whose size is below
    /// ABI 1.0's. `part` names the struct in the message.
    static func check(_ header: hybrid_struct_header, part: String, minimumSize: Int,
                      path: String) throws(PluginError) {
        let found = PluginABIVersion(header)
        guard found.major == host.major, found.minor <= host.minor else {
            throw .abiUnsupported(path: path, part: part, found: found, host: host)
        }
        guard Int(header.size) >= minimumSize else {
            throw .invalidDescriptor(path: path, problem: "\(part) declares \(header.size) "
                + "bytes; ABI 1.0 needs at least \(minimumSize)")
        }
    }
}
