import ArgumentParser
import HybridRun
import HybridTrain

/// How a command runs on the processes of its job (mpirun's ranks, or this process alone).
enum Distributed {
    /// A command's body on every rank: joins the job, runs, leaves it, reports failures.
    static func command(_ body: (Job) throws -> Void) throws {
        try reportingFailures {
            let job = try Job.join(interrupted: { StopSignals.received != 0 })
            try running(job) { try body(job) }
        }
    }

    /// Runs `body` and leaves the job: MPI_Finalize when every rank is done or refused the
    /// run together; when this rank alone failed, prints why and takes the job down with
    /// MPI_Abort, so no rank waits for it.
    static func running<T>(_ job: Job, _ body: () throws -> T) throws -> T {
        guard job.isDistributed else { return try body() }
        do {
            let result = try body()
            job.finish()
            return result
        } catch let error as ExitCode {
            job.finish()
            throw error
        } catch let error as RanksDisagree {
            // Printed before leaving: mpirun ends the job when the first rank exits.
            if job.isLeader { error.description.split(separator: "\n").forEach { printError("error: \($0)") } }
            job.finish()
            throw ExitCode.failure
        } catch {
            guard job.size > 1 else {
                job.finish()
                throw error
            }
            let text = "\(error)"
            printError("error: " + (text.hasPrefix("rank ") ? text : "rank \(job.rank): \(text)"))
            job.abandon(exitCode: 1)
        }
    }

    /// Rank 0 speaks for the job; the other ranks print only their errors.
    static func log(_ job: Job) -> (String) -> Void {
        job.isLeader ? { say($0) } : { _ in }
    }
}
