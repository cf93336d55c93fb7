// The kernel choice: the newest OpenBLAS core the CPU's instructions allow, and a backend that
// runs kernels at least that new on this machine (unless the user named a core).

import Foundation
@testable import HybridCPU
import Testing

@Suite("OpenBLAS core")
struct OpenBLASCoreTests {
    static func newest(_ flags: String) -> String? { OpenBLASCore.newestCore(flags: Set(flags.split(separator: " "))) }

    @Test func newestCoreFollowsTheInstructions() {
        #expect(Self.newest("sse2 avx avx2 fma avx512f avx512bw avx512vl avx512dq avx512_bf16 amx_tile") == "Cooperlake")
        #expect(Self.newest("sse2 avx avx2 fma avx512f avx512bw avx512vl avx512dq") == "SkylakeX")
        #expect(Self.newest("sse2 avx avx2 fma avx512f") == "Haswell", "AVX-512F alone is not SkylakeX's set")
        #expect(Self.newest("sse2 avx avx2 fma") == "Haswell")
        #expect(Self.newest("sse2 sse3 avx") == nil)
    }

    @Test func rankOrdersCores() {
        #expect(OpenBLASCore.rank("Cooperlake") > OpenBLASCore.rank("SkylakeX"))
        #expect(OpenBLASCore.rank("SkylakeX") > OpenBLASCore.rank("Haswell"))
        #expect(OpenBLASCore.rank("Zen") == OpenBLASCore.rank("Haswell"))
        #expect(OpenBLASCore.rank("Prescott") == 0)
    }

    @Test func backendRunsTheNewestKernelsTheCPUAllows() throws {
        _ = CPUBackend()
        let running = OpenBLASCore.running
        #expect(OpenBLASCore.choice.upgraded ?? OpenBLASCore.choice.detected == running)
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil,
              let best = OpenBLASCore.cpuFlags().flatMap(OpenBLASCore.newestCore) else { return }
        #expect(OpenBLASCore.rank(running) >= OpenBLASCore.rank(best), "runs \(running) where the CPU allows \(best)")
    }
}
