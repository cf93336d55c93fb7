import Foundation
import HybridCore
import HybridMPI
import HybridTrain

/// The processes one command runs on: the ranks Open MPI's mpirun started (libmpi opened
/// now), or this process alone — without mpirun no MPI library is touched.
public final class Job {
    public let communicator: Communicator
    private var mpi: MPICommunicator? { communicator as? MPICommunicator }

    public init(communicator: Communicator = SingleProcess()) {
        self.communicator = communicator
    }

    /// Joins mpirun's job where this process is one of its ranks; `interrupted` is asked
    /// while a collective waits (a stop signal), so a dead rank never hangs the others.
    public static func join(interrupted: @escaping () -> Bool) throws -> Job {
        guard MPICommunicator.launchedByMPI else { return Job() }
        let mpi = try MPICommunicator()
        mpi.interrupted = interrupted
        return Job(communicator: mpi)
    }

    public var rank: Int { communicator.rank }
    public var size: Int { communicator.size }
    /// Rank 0 speaks for the job: it logs, evaluates and writes checkpoints.
    public var isLeader: Bool { rank == 0 }
    /// Started by mpirun (even as a job of one rank).
    public var isDistributed: Bool { mpi != nil }
    /// This rank's place among the ranks on its host (0 on one process): which GPU it takes.
    public var localRank: Int { mpi?.localRank ?? 0 }
    /// "Open MPI v4.1.4", for the log; nil on one process.
    public var mpiVersion: String? { mpi?.version }

    /// Leaves the job cleanly (MPI_Finalize); every rank must call it.
    public func finish() { mpi?.finish() }

    /// Takes the whole job down, for a failure on this rank alone while the others may wait
    /// inside a collective.
    public func abandon(exitCode: Int32) -> Never {
        if let mpi { mpi.abandon(exitCode: exitCode) }
        exit(exitCode)
    }

    /// Returns once every rank has called it.
    public func waitForAll() throws { _ = try communicator.allreduceSum([0]) }

    /// A run's progress display: rank 0's (plain lines under mpirun, which forwards output
    /// through a pseudo-terminal whatever its own output is); the other ranks show none.
    public func progress(logEvery: Int) -> HybridTrain.Progress {
        guard isLeader else { return .silent }
        return Progress(logEvery: logEvery, isTerminal: !isDistributed && isatty(STDOUT_FILENO) != 0)
    }
}
