import ArgumentParser
import Foundation
import HybridCore
import HybridMPI
import HybridTrain

/// The processes of a run: the ranks Open MPI's mpirun started (libmpi opened now), or this
/// process alone — without mpirun no MPI library is touched.
enum Distributed {
    static func join() throws -> Communicator {
        guard MPICommunicator.launchedByMPI else { return SingleProcess() }
        let communicator = try MPICommunicator()
        communicator.interrupted = { StopSignals.received != 0 }
        return communicator
    }

    /// A command's body on every rank: joins the job, runs, leaves it, reports failures.
    static func command(_ body: (Communicator) throws -> Void) throws {
        try reportingFailures {
            let communicator = try join()
            try running(communicator) { try body(communicator) }
        }
    }

    /// Runs `body` and leaves the job: MPI_Finalize when every rank is done or refused the
    /// run together; when this rank alone failed, prints why and takes the job down with
    /// MPI_Abort, so no rank waits for it.
    static func running<T>(_ communicator: Communicator, _ body: () throws -> T) throws -> T {
        guard let mpi = communicator as? MPICommunicator else { return try body() }
        do {
            let result = try body()
            mpi.finish()
            return result
        } catch let error as ExitCode {
            mpi.finish()
            throw error
        } catch let error as RanksDisagree {
            // Printed before leaving: mpirun ends the job when the first rank exits.
            if mpi.rank == 0 { error.description.split(separator: "\n").forEach { printError("error: \($0)") } }
            mpi.finish()
            throw ExitCode.failure
        } catch {
            guard mpi.size > 1 else {
                mpi.finish()
                throw error
            }
            let text = "\(error)"
            printError("error: " + (text.hasPrefix("rank ") ? text : "rank \(mpi.rank): \(text)"))
            mpi.abandon(exitCode: 1)
        }
    }

    /// A run's progress display: rank 0's (plain lines under mpirun, which forwards output
    /// through a pseudo-terminal whatever its own output is); the other ranks show none.
    static func progress(_ communicator: Communicator, logEvery: Int) -> HybridTrain.Progress {
        guard communicator.rank == 0 else { return Progress(logEvery: .max, isTerminal: false, write: { _ in }) }
        return Progress(logEvery: logEvery, isTerminal: communicator is SingleProcess && isatty(STDOUT_FILENO) != 0)
    }

    /// This rank's place among the ranks on its host (0 on one process).
    static func localRank(_ communicator: Communicator) -> Int {
        (communicator as? MPICommunicator)?.localRank ?? 0
    }

    /// Rank 0 speaks for the job; the other ranks print only their errors.
    static func log(_ communicator: Communicator) -> (String) -> Void {
        communicator.rank == 0 ? { say($0) } : { _ in }
    }
}
