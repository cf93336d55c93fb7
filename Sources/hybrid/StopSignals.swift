import Dispatch
import Foundation
import Glibc
import Synchronization

/// SIGINT (Ctrl-C) and SIGTERM during training: the step in progress finishes, a checkpoint is
/// written, and the run exits with 128 + the signal; a second signal quits at once.
enum StopSignals {
    private static let signalNumber = Atomic<Int32>(0)
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []

    static func install() {
        for sig in [SIGINT, SIGTERM] {
            _ = Glibc.signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                if signalNumber.exchange(sig, ordering: .relaxed) != 0 { exit(128 + sig) }
                FileHandle.standardError.write(Data(
                    "\n\(sig == SIGINT ? "SIGINT" : "SIGTERM"): stopping after this step with a checkpoint (again to quit at once)\n".utf8))
            }
            source.resume()
            sources.append(source)
        }
    }

    /// The signal that asked the run to stop, or 0.
    static var received: Int32 { signalNumber.load(ordering: .relaxed) }
}
