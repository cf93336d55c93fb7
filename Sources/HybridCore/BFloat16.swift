/// bfloat16: the top half of a float's bits (fp32's exponent range, 8 bits of mantissa). The
/// host's conversions, matching the shaders' (Shaders/common.glsl, Shaders/adamw_bf16.comp).
public enum BFloat16 {
    /// The float a bfloat16 holds.
    @inline(__always)
    public static func float(_ bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) }

    /// `x` rounded to the nearest bfloat16, ties to even; NaN stays NaN.
    @inline(__always)
    public static func nearest(_ x: Float) -> UInt16 {
        let b = x.bitPattern
        return x.isNaN ? 0x7FC0 : UInt16(truncatingIfNeeded: (b &+ 0x7FFF &+ ((b >> 16) & 1)) >> 16)
    }

    /// `x` rounded up or down to a neighbouring bfloat16 with probability by distance (its low
    /// 16 bits against `random`'s), so the rounding is unbiased: an AdamW moment's small
    /// per-step changes accumulate in expectation instead of rounding away. NaN stays NaN.
    @inline(__always)
    public static func stochastic(_ x: Float, random: UInt32) -> UInt16 {
        x.isNaN ? 0x7FC0 : UInt16(truncatingIfNeeded: (x.bitPattern &+ (random & 0xFFFF)) >> 16)
    }

    /// 32 well-mixed bits for element `index` at `step` (Wellons' lowbias32 over both): the
    /// stochastic rounding's randomness, the same on every backend.
    @inline(__always)
    public static func randomBits(index: UInt32, step: UInt32) -> UInt32 {
        var x = index ^ (step &* 0x9E37_79B9)
        x ^= x >> 16
        x &*= 0x7FEB_352D
        x ^= x >> 15
        x &*= 0x846C_A68B
        x ^= x >> 16
        return x
    }
}
