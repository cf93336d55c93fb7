// Which OpenBLAS kernels run the matrix products.
//
// OpenBLAS (DYNAMIC_ARCH builds, as Debian ships) picks its kernels once, at load, from a CPUID
// table that lags the hardware: 0.3.21 does not know Emerald Rapids (Xeon family 6 model 207)
// and falls back to its Prescott SSE3 kernels there, a fifth of the AVX-512 kernels' speed.
// Before the first product, this reads the instructions the kernel reports for the CPU
// (/proc/cpuinfo lists AVX-512 only when the OS saves its registers) and, when the library chose
// an older core than they allow, re-runs the library's own selection with OPENBLAS_CORETYPE
// naming the newest core they allow. A user's OPENBLAS_CORETYPE, or a build without dynamic
// kernels, is left as it is.

import COpenBLAS
import Foundation

enum OpenBLASCore {
    /// The core the library chose at load, and the one this process runs (nil: unchanged).
    struct Choice {
        let detected: String
        let upgraded: String?
    }

    /// Made once, before the first product of the process (CPUBackend.init reads it).
    static let choice: Choice = {
        let detected = running
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil,
              let flags = cpuFlags(), let best = newestCore(flags: flags), rank(best) > rank(detected),
              let quit = symbol("gotoblas_dynamic_quit"), let initialize = symbol("gotoblas_dynamic_init")
        else { return Choice(detected: detected, upgraded: nil) }
        setenv("OPENBLAS_CORETYPE", best, 1)
        quit()
        initialize()
        return Choice(detected: detected, upgraded: running)
    }()

    /// The core whose kernels the library runs now.
    static var running: String { String(cString: openblas_get_corename()) }

    /// The instructions the OS lets this process use: the first "flags" line of /proc/cpuinfo
    /// (nil off Linux x86).
    static func cpuFlags() -> Set<Substring>? {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let colon = line.firstIndex(of: ":") else { return nil }
        return Set(line[line.index(after: colon)...].split(separator: " "))
    }

    /// The newest OpenBLAS x86-64 core whose kernels these instructions run.
    static func newestCore(flags: Set<Substring>) -> String? {
        let avx512 = ["avx512f", "avx512bw", "avx512vl", "avx512dq"].allSatisfy { flags.contains(Substring($0)) }
        if avx512 && flags.contains("avx512_bf16") { return "Cooperlake" }
        if avx512 { return "SkylakeX" }
        if flags.contains("avx2") && flags.contains("fma") { return "Haswell" }
        return nil
    }

    /// Orders the cores this cares about; every other (older) core ranks 0.
    static func rank(_ core: String) -> Int {
        switch core.lowercased() {
        case "cooperlake", "sapphirerapids": return 3
        case "skylakex": return 2
        case "haswell", "zen": return 1
        default: return 0
        }
    }

    /// A `void f(void)` of the loaded OpenBLAS, looked up so that builds without it still link.
    private static func symbol(_ name: String) -> (@convention(c) () -> Void)? {
        guard let address = dlsym(nil, name) else { return nil }  // nil: RTLD_DEFAULT, every loaded library
        return unsafeBitCast(address, to: (@convention(c) () -> Void).self)
    }
}
