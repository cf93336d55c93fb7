// Owned raw memory for calling kernels from tests: a kernel takes pointers, a test holds arrays.
// Kernel calls sit inside `withExtendedLifetime` over the buffers they read, so an optimized
// build cannot free a buffer between taking its pointer and the call returning.

import HybridTestSupport

final class Buffer<Element> {
    let count: Int
    let p: UnsafeMutablePointer<Element>

    init(_ values: [Element]) {
        count = values.count
        p = .allocate(capacity: max(count, 1))
        p.initialize(from: values, count: count)
    }

    init(repeating value: Element, count: Int) {
        self.count = count
        p = .allocate(capacity: max(count, 1))
        p.initialize(repeating: value, count: count)
    }

    var array: [Element] { Array(UnsafeBufferPointer(start: p, count: count)) }

    deinit {
        p.deinitialize(count: count)
        p.deallocate()
    }
}

extension Buffer where Element == Float {
    convenience init(zeros count: Int) { self.init(repeating: 0, count: count) }
}

/// Elementwise a + b.
func plus(_ a: [Float], _ b: [Float]) -> [Float] { zip(a, b).map { $0 + $1 } }

/// Elementwise s · a.
func times(_ s: Float, _ a: [Float]) -> [Float] { a.map { s * $0 } }

/// Checks the gradient of L = Σ forward(x)·r at x against `analytic`.
func gradientCheck(_ x: [Float], _ analytic: [Float], r: [Float], step: Float = 1e-2, indices: [Int]? = nil,
                   forward: ([Float]) -> [Float]) -> GradientCheck {
    checkGradient(at: x, analytic: analytic, step: step, indices: indices) { weightedSum(forward($0), r) }
}

/// Whether `twice` is 2·`once` up to Float rounding: a backward run a second time into the same
/// gradients (reductions then round differently, so equality is not exact).
func isDoubled(_ twice: [Float]?, _ once: [Float]?) -> Bool {
    guard let twice, let once else { return false }
    return nmse(twice, times(2, once)) < 1e-12
}
