/// The processes of a data-parallel run and the collectives the trainer needs from them.
/// Every rank calls the same collectives in the same order; a call returns only when every
/// rank has made it, or throws when one cannot (a rank died, the deadline passed).
public protocol Communicator: AnyObject {
    var rank: Int { get }
    var size: Int { get }
    /// Sums `count` floats over the ranks, in place.
    func allreduceSum(_ values: UnsafeMutablePointer<Float>, count: Int) throws
    /// Sums small vectors over the ranks (loss normalisers, losses, stop flags).
    func allreduceSum(_ values: [Double]) throws -> [Double]
    /// Rank 0's bytes, on every rank.
    func broadcast(_ bytes: [UInt8]) throws -> [UInt8]
    /// Every rank's `bytes` (the same length on every rank), in rank order.
    func allgather(_ bytes: [UInt8]) throws -> [[UInt8]]
}

/// A collective that cannot complete, or MPI that cannot start (a rank stopped, the deadline
/// passed, no Open MPI library).
public struct CommunicatorError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A run on one process: every collective is the identity.
public final class SingleProcess: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func allreduceSum(_ values: UnsafeMutablePointer<Float>, count: Int) throws {}
    public func allreduceSum(_ values: [Double]) throws -> [Double] { values }
    public func broadcast(_ bytes: [UInt8]) throws -> [UInt8] { bytes }
    public func allgather(_ bytes: [UInt8]) throws -> [[UInt8]] { [bytes] }
}

extension Communicator {
    /// Every rank's text (of any length), in rank order.
    public func allgather(text: String) throws -> [String] {
        let bytes = Array(text.utf8)
        let lengths = try allgather(UInt64(bytes.count))
        let width = Int(lengths.max() ?? 0)
        return try zip(allgather(bytes + [UInt8](repeating: 0, count: width - bytes.count)), lengths).map {
            String(decoding: $0.prefix(Int($1)), as: UTF8.self)
        }
    }

    /// Every rank's 64-bit value, in rank order.
    public func allgather(_ value: UInt64) throws -> [UInt64] {
        try allgather(withUnsafeBytes(of: value.littleEndian) { Array($0) }).map { bytes in
            UInt64(littleEndian: bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        }
    }
}
