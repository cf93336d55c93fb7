import Foundation
import Glibc
import HybridCore

/// The ranks `mpirun` started, over Open MPI. Errors are returned, not fatal, and every
/// collective is non-blocking, polled until it completes, a deadline passes or the run is
/// interrupted: a rank that dies or hangs never leaves the others waiting forever.
public final class MPICommunicator: Communicator {
    private let mpi: OpenMPI
    public let rank: Int
    public let size: Int
    /// This rank's place among the ranks on its host (which GPU it takes).
    public let localRank: Int
    /// "Open MPI v4.1.4", for the log.
    public let version: String
    /// Seconds a collective may wait for the other ranks (`HYBRID_MPI_TIMEOUT`, default 300).
    public let timeout: Double
    /// Asked while waiting; once true, the collective gets `grace` more seconds (healthy
    /// ranks finish it and stop together after the step) before it is abandoned.
    public var interrupted: () -> Bool = { false }
    let grace = 10.0

    /// True when this process was started by Open MPI's mpirun (its environment says so).
    public static var launchedByMPI: Bool { ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] != nil }

    /// Opens Open MPI and joins the job (MPI_Init).
    public init() throws {
        let environment = ProcessInfo.processInfo.environment
        let timeoutText = environment["HYBRID_MPI_TIMEOUT"] ?? "300"
        guard let timeout = Double(timeoutText), timeout > 0 else {
            throw CommunicatorError("HYBRID_MPI_TIMEOUT is \(timeoutText); expected a number of seconds > 0")
        }
        self.timeout = timeout
        mpi = try OpenMPI()
        var flag: Int32 = 0
        _ = mpi.initialized(&flag)
        if flag == 0 {
            let code = mpi.initialize(nil, nil)
            guard code == 0 else { throw CommunicatorError("MPI_Init failed: \(mpi.describe(code))") }
        }
        _ = mpi.setErrorHandler(mpi.commWorld, mpi.errorsReturn)
        var value: Int32 = 0
        _ = mpi.commRank(mpi.commWorld, &value)
        rank = Int(value)
        _ = mpi.commSize(mpi.commWorld, &value)
        size = Int(value)
        localRank = Int(environment["OMPI_COMM_WORLD_LOCAL_RANK"] ?? "") ?? 0
        version = mpi.version
    }

    /// Leaves the job cleanly; every rank must call it.
    public func finish() {
        _ = mpi.finalize()
    }

    /// Takes the whole job down: for a failure on this rank while the others may be inside a
    /// collective (MPI_Finalize would wait for them).
    public func abandon(exitCode: Int32) -> Never {
        _ = mpi.abort(mpi.commWorld, exitCode)
        exit(exitCode)
    }

    public func allreduceSum(_ values: UnsafeMutablePointer<Float>, count: Int) throws {
        guard size > 1 else { return }
        try allreduce(values, count: count, type: mpi.float, what: "the gradient all-reduce")
    }

    public func allreduceSum(_ values: [Double]) throws -> [Double] {
        var result = values
        try result.withUnsafeMutableBufferPointer { try allreduce($0.baseAddress!, count: $0.count, type: mpi.double, what: "an all-reduce of step figures") }
        return result
    }

    public func broadcast(_ bytes: [UInt8]) throws -> [UInt8] {
        var length = [Int64(bytes.count)]
        try length.withUnsafeMutableBytes { try broadcast($0) }
        var result = rank == 0 ? bytes : [UInt8](repeating: 0, count: Int(length[0]))
        try result.withUnsafeMutableBytes { try broadcast($0) }
        return result
    }

    public func allgather(_ bytes: [UInt8]) throws -> [[UInt8]] {
        var all = [UInt8](repeating: 0, count: bytes.count * size)
        try bytes.withUnsafeBytes { mine in
            try all.withUnsafeMutableBytes { all in
                var request: OpenMPI.Request = nil
                try check(mpi.iallgather(mine.baseAddress ?? OpenMPI.inPlace, Int32(mine.count), mpi.byte, all.baseAddress!, Int32(mine.count),
                                         mpi.byte, mpi.commWorld, &request), "an all-gather")
                try wait(&request, "an all-gather")
            }
        }
        return (0..<size).map { Array(all[($0 * bytes.count)..<(($0 + 1) * bytes.count)]) }
    }

    private func allreduce(_ values: UnsafeMutableRawPointer, count: Int, type: OpenMPI.Handle, what: String) throws {
        precondition(count <= Int(Int32.max), "an all-reduce of \(count) values is past MPI's int count")
        var request: OpenMPI.Request = nil
        try check(mpi.iallreduce(OpenMPI.inPlace, values, Int32(count), type, mpi.sum, mpi.commWorld, &request), what)
        try wait(&request, what)
    }

    private func broadcast(_ buffer: UnsafeMutableRawBufferPointer) throws {
        guard buffer.count > 0 else { return }
        var request: OpenMPI.Request = nil
        try check(mpi.ibcast(buffer.baseAddress!, Int32(buffer.count), mpi.byte, 0, mpi.commWorld, &request), "a broadcast from rank 0")
        try wait(&request, "a broadcast from rank 0")
    }

    private func check(_ code: Int32, _ what: String) throws {
        guard code != 0 else { return }
        throw CommunicatorError("rank \(rank): \(what) failed: \(mpi.describe(code)); another rank has probably stopped")
    }

    /// Polls `request` until it completes. MPI_Test also drives Open MPI's progress engine;
    /// after the first thousand polls the loop yields the core between polls, for ranks that
    /// share cores.
    private func wait(_ request: inout OpenMPI.Request, _ what: String) throws {
        var deadline = ContinuousClock.now + .seconds(timeout)
        var interruptedAt: ContinuousClock.Instant?
        var done: Int32 = 0
        var polls = 0
        while true {
            try check(mpi.test(&request, &done, nil), what)
            if done != 0 { return }
            polls += 1
            if polls > 1000 { sched_yield() }
            guard polls % 256 == 0 else { continue }
            if interruptedAt == nil, interrupted() {
                interruptedAt = .now
                deadline = min(deadline, .now + .seconds(grace))
            }
            if interruptedAt != nil, ContinuousClock.now > deadline {
                throw CommunicatorError("rank \(rank): stopped by a signal while waiting \(Int(grace)) s for the other ranks in \(what); one of them has probably failed")
            }
            if ContinuousClock.now > deadline {
                throw CommunicatorError("rank \(rank): \(what) did not complete within \(Int(timeout)) s (HYBRID_MPI_TIMEOUT): another rank has stopped or hangs")
            }
        }
    }
}
