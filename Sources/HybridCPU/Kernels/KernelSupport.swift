// Shared machinery for the CPU kernels: splitting work over the cores, SIMD loads and
// reductions, column sums, and sgemm on one core or split over them. No loop allocates; a
// parallel call costs one dispatch (and a small closure context), so only large loops split.
//
// Conventions every kernel in this folder follows:
//   - forward kernels overwrite their outputs;
//   - backward kernels ACCUMULATE (+=) into gradient buffers, which callers zero first;
//   - an Optional gradient pointer that is nil means "not needed": the work is skipped.

import COpenBLAS
import Dispatch
import Foundation

/// Splits loops over the cores with `DispatchQueue.concurrentPerform`, a few big chunks at a time.
public enum Parallel {
    /// Cores this process may run on: its affinity mask as OpenBLAS reads it (mpirun binds
    /// each rank to its own cores), which Foundation's processor counts ignore.
    static let workers = max(1, Int(openblas_get_num_procs()))

    /// Below this many element-operations a loop runs on the calling thread: a dispatch costs
    /// microseconds, more than the work it would share.
    static let minimumWork = 32_768

    /// Calls `body` on disjoint contiguous ranges covering `0..<count`, in parallel when
    /// `work` (element-operations in total) is large enough, else once on the calling thread.
    /// `body` must write only to elements owned by its range.
    @inline(__always)
    static func forEachChunk(count: Int, work: Int, _ body: (Range<Int>) -> Void) {
        let chunks = chunkCount(count: count, work: work)
        if chunks <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let shared = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                shared.value(count * chunk / chunks ..< count * (chunk + 1) / chunks)
            }
        }
    }

    /// Like `forEachChunk`, summing the Double each chunk returns (in chunk order, so the result
    /// does not depend on scheduling).
    @inline(__always)
    static func sum(count: Int, work: Int, _ body: (Range<Int>) -> Double) -> Double {
        let chunks = chunkCount(count: count, work: work)
        if chunks <= 1 { return count > 0 ? body(0..<count) : 0 }
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: chunks) { partial in
            let out = UncheckedSendable(partial.baseAddress!)
            withoutActuallyEscaping(body) { body in
                let shared = UncheckedSendable(body)
                DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                    out.value[chunk] = shared.value(count * chunk / chunks ..< count * (chunk + 1) / chunks)
                }
            }
            var total = 0.0
            for chunk in 0..<chunks { total += partial[chunk] }
            return total
        }
    }

    @inline(__always)
    static func chunkCount(count: Int, work: Int) -> Int {
        work < minimumWork ? 1 : min(workers, count)
    }
}

/// Carries a pointer or a non-escaping closure into `concurrentPerform`'s `@Sendable` closure.
/// Safe here because every chunk touches disjoint memory and the call waits for all chunks.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

// MARK: - SIMD loads and reductions

extension UnsafePointer<Float> {
    @inline(__always) func load16(_ i: Int) -> SIMD16<Float> {
        UnsafeRawPointer(self + i).loadUnaligned(as: SIMD16<Float>.self)
    }

    /// self[0..<count] (count < 16) in the low lanes, `padding` in the rest: loop tails run the
    /// same vector code as the body, so a result never depends on where a chunk boundary fell.
    @inline(__always) func loadPartial16(count: Int, padding: Float = 0) -> SIMD16<Float> {
        var v = SIMD16<Float>(repeating: padding)
        for lane in 0..<count { v[lane] = self[lane] }
        return v
    }
}

extension UnsafeMutablePointer<Float> {
    @inline(__always) func load16(_ i: Int) -> SIMD16<Float> {
        UnsafeRawPointer(self + i).loadUnaligned(as: SIMD16<Float>.self)
    }

    @inline(__always) func loadPartial16(count: Int, padding: Float = 0) -> SIMD16<Float> {
        UnsafePointer(self).loadPartial16(count: count, padding: padding)
    }

    /// Stores 16 lanes at self[0..<16] (no alignment needed).
    @inline(__always) func store16(_ v: SIMD16<Float>) {
        UnsafeMutableRawPointer(self).storeBytes(of: v, as: SIMD16<Float>.self)
    }

    /// Stores the low `count` lanes of v at self[0..<count].
    @inline(__always) func storePartial16(_ v: SIMD16<Float>, count: Int) {
        for lane in 0..<count { self[lane] = v[lane] }
    }
}

/// Σ x[i] for i in 0..<n, 16 lanes at a time (Float accumulation: for rows, not whole tensors).
@inline(__always)
func rowSum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = SIMD16<Float>()
    var i = 0
    while i + 16 <= n { acc += x.load16(i); i += 16 }
    var s = acc.sum()
    while i < n { s += x[i]; i += 1 }
    return s
}

/// max x[i] for i in 0..<n (−∞ when n == 0). Lanes are compared with `.>` and `replace`, which
/// compile to maxps; `pointwiseMax` and `SIMD.max()` go lane by lane through memory.
@inline(__always)
func rowMax(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = SIMD16<Float>(repeating: -.infinity)
    var i = 0
    while i + 16 <= n { let v = x.load16(i); acc.replace(with: v, where: v .> acc); i += 16 }
    var m = -Float.infinity
    for lane in 0..<16 where acc[lane] > m { m = acc[lane] }
    while i < n { if x[i] > m { m = x[i] }; i += 1 }
    return m
}

/// Σ x[i] for i in 0..<n accumulated in Double (for whole-tensor sums: losses, means, norms).
@inline(__always)
func doubleSum(_ x: UnsafePointer<Float>, _ n: Int) -> Double {
    var acc = SIMD8<Double>()
    var i = 0
    while i + 16 <= n {
        let v = x.load16(i)
        acc += SIMD8<Double>(v.lowHalf) + SIMD8<Double>(v.highHalf)
        i += 16
    }
    var s = acc.sum()
    while i < n { s += Double(x[i]); i += 1 }
    return s
}

/// Σ x[i]² for i in 0..<n accumulated in Double.
@inline(__always)
func doubleSumOfSquares(_ x: UnsafePointer<Float>, _ n: Int) -> Double {
    var acc = SIMD8<Double>()
    var i = 0
    while i + 16 <= n {
        let v = x.load16(i)
        let lo = SIMD8<Double>(v.lowHalf), hi = SIMD8<Double>(v.highHalf)
        acc += lo * lo + hi * hi
        i += 16
    }
    var s = acc.sum()
    while i < n { let d = Double(x[i]); s += d * d; i += 1 }
    return s
}

/// dy[j] += Σ_r dout[r, j] — column sums of a row-major [R, n] matrix (bias gradients).
/// Split over column ranges so that no two chunks write the same dy[j]; only when rows are
/// wide enough (≥ 128) for each chunk's inner loop to stay long and vectorized.
func accumulateColumnSums(into dy: UnsafeMutablePointer<Float>, from dout: UnsafePointer<Float>, R: Int, n: Int) {
    Parallel.forEachChunk(count: n, work: n >= 128 ? R * n : 0) { columns in
        for r in 0..<R {
            let row = dout + r * n
            for j in columns { dy[j] += row[j] }
        }
    }
}

// MARK: - sgemm

/// Row-major C[M,N] = alpha · op(A)[M,K] · op(B)[K,N] + beta · C, one `cblas_sgemm` call on the
/// calling thread (OpenBLAS runs single-threaded: see `Parallel.sgemm`).
/// op(A) = Aᵀ when `transA` (A then stored [K,M]); likewise for B. Leading dimensions are the
/// row strides of A, B, C as stored, which lets callers read sub-blocks in place.
@inline(__always)
func sgemm(transA: Bool, transB: Bool, M: Int, N: Int, K: Int,
           alpha: Float, A: UnsafePointer<Float>, lda: Int, B: UnsafePointer<Float>, ldb: Int,
           beta: Float, C: UnsafeMutablePointer<Float>, ldc: Int) {
    _ = Parallel.singleThreadedBLAS
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(M), Int32(N), Int32(K), alpha, A, Int32(lda), B, Int32(ldb), beta, C, Int32(ldc))
}

extension Parallel {
    /// OpenBLAS's own threads spin in `sched_yield` between products while this process's
    /// dispatch workers run the other kernels, taking a core from them; with every product
    /// split here instead, one pool of threads does all the work.
    static let singleThreadedBLAS: Void = openblas_set_num_threads(1)

    /// Below this many multiply-adds a product runs on the calling thread.
    static let minimumProduct = 1 << 20

    /// `sgemm` split over the cores into bands of C's rows or columns (whichever C has more of),
    /// each band a single-threaded product; for callers not already inside a parallel loop.
    public static func sgemm(transA: Bool, transB: Bool, M: Int, N: Int, K: Int,
                             alpha: Float, A: UnsafePointer<Float>, lda: Int, B: UnsafePointer<Float>, ldb: Int,
                             beta: Float, C: UnsafeMutablePointer<Float>, ldc: Int) {
        let splitRows = M >= N
        // Bands are whole 16-float (cache-line) multiples, so no two threads write one line of C.
        let blocks = ((splitRows ? M : N) + 15) / 16
        let chunks = M * N * K < minimumProduct ? 1 : min(workers, blocks)
        if chunks <= 1 {
            HybridCPU.sgemm(transA: transA, transB: transB, M: M, N: N, K: K, alpha: alpha, A: A, lda: lda,
                            B: B, ldb: ldb, beta: beta, C: C, ldc: ldc)
            return
        }
        let a = UncheckedSendable(A), b = UncheckedSendable(B), c = UncheckedSendable(C)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let first = min(blocks * chunk / chunks * 16, splitRows ? M : N)
            let end = min(blocks * (chunk + 1) / chunks * 16, splitRows ? M : N)
            guard first < end else { return }
            if splitRows {
                HybridCPU.sgemm(transA: transA, transB: transB, M: end - first, N: N, K: K, alpha: alpha,
                                A: a.value + (transA ? first : first * lda), lda: lda, B: b.value, ldb: ldb,
                                beta: beta, C: c.value + first * ldc, ldc: ldc)
            } else {
                HybridCPU.sgemm(transA: transA, transB: transB, M: M, N: end - first, K: K, alpha: alpha,
                                A: a.value, lda: lda, B: b.value + (transB ? first * ldb : first), ldb: ldb,
                                beta: beta, C: c.value + first, ldc: ldc)
            }
        }
    }
}
