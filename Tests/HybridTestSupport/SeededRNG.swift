// A seeded, deterministic random source for tests: the same seed gives the same numbers on
// every machine and every run (SplitMix64; Box–Muller for normals).

import Foundation

public struct SeededRNG: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// SplitMix64 (Steele, Lea, Flood 2014).
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1), 53 random bits.
    public mutating func unit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// Uniform in [-1, 1).
    public mutating func uniform() -> Float {
        Float(2 * unit() - 1)
    }

    /// `count` values uniform in [-scale, scale).
    public mutating func uniform(count: Int, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in scale * uniform() }
    }

    /// Standard normal (Box–Muller).
    public mutating func normal() -> Float {
        let u1 = 1 - unit()   // (0, 1]: log is finite
        let u2 = unit()
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }

    /// `count` values from N(mean, std²).
    public mutating func normal(count: Int, mean: Float = 0, std: Float = 1) -> [Float] {
        (0..<count).map { _ in mean + std * normal() }
    }

    /// `count` integers uniform in 0..<bound.
    public mutating func int32s(count: Int, below bound: Int) -> [Int32] {
        (0..<count).map { _ in Int32(next() % UInt64(bound)) }
    }
}
