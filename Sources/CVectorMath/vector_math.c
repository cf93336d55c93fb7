// Element-wise kernels over 16-lane vectors (one AVX-512 register, two AVX2, four SSE), tails
// through a padded 16-float block so they run the same arithmetic.
//
// GELU, tanh approximation — torch.nn.functional.gelu(x, approximate="tanh"):
//   u = β·(x + κ·x³),  out = 0.5·x·(1 + tanh u)
//   gelu'(x) = 0.5·(1 + tanh u) + 0.5·x·(1 − tanh² u)·β·(1 + 3κ·x²), PyTorch's GeluBackward
//   term by term; β = sqrt(2/π), κ = 0.044715.

#include "vector_math.h"

#include <math.h>
#include <string.h>

typedef float f16 __attribute__((ext_vector_type(16)));
typedef int i16 __attribute__((ext_vector_type(16)));
/// The same vector at float alignment: an unaligned load or store through a pointer to it.
typedef float f16u __attribute__((ext_vector_type(16), aligned(4)));

#define CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
// Helpers take and give vectors through pointers: by value, a 16-float vector is passed in
// different registers by the AVX2 and AVX-512 clones, which the compiler refuses.
#define INLINE static inline __attribute__((always_inline))

#define LOAD(p) (*(const f16u *)(p))
#define STORE(p, v) (*(f16u *)(p) = (v))

/// A tail of count < 16 floats as a vector, the other lanes `padding`.
INLINE void load_partial(f16 *v, const float *p, size_t count, float padding) {
    float block[16];
    for (size_t i = 0; i < 16; i++) block[i] = i < count ? p[i] : padding;
    *v = LOAD(block);
}

INLINE void store_partial(float *p, const f16 *v, size_t count) {
    float block[16];
    STORE(block, *v);
    memcpy(p, block, count * sizeof(float));
}

/// e^x in place, Cephes' expf: x = n·ln 2 + r with |r| ≤ ln2/2, a degree-6 polynomial for e^r,
/// 2^n built in the exponent bits; within 1 ulp over −87.3…88. Lanes above 88 are clamped to 88
/// (callers pass x ≤ 0, or feed tanh, where e^88 is already "infinite"); below −87.3 give 0.
INLINE void exp16(f16 *x) {
    const float low = -87.33654f;
    f16 v = *x > 88.0f ? (f16)88.0f : *x;
    i16 tooSmall = v < low;
    v = tooSmall ? (f16)low : v;
    // n = round(x·log2 e) by the 1.5·2^23 trick: the sum's low mantissa bits hold n.
    const f16 magic = 12582912.0f;
    f16 t = v * 1.44269504f + magic;
    f16 n = t - magic;
    f16 r = v - n * 0.693359375f - n * -2.12194440e-4f;
    f16 p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    f16 y = p * (r * r) + r + 1.0f;
    // 2^n: (n + 127) << 23, with n = bits(t) − bits(1.5·2^23). Vector casts are bit casts.
    i16 bits = ((i16)t - 0x4B400000 + 127) << 23;
    f16 result = y * (f16)bits;
    *x = tooSmall ? (f16)0.0f : result;
}

/// tanh x in place as 1 − 2 / (e^{2x} + 1): absolute error < 2e-7.
INLINE void tanh16(f16 *x) {
    f16 e = *x + *x;
    exp16(&e);
    *x = 1.0f - 2.0f / (e + 1.0f);
}

static const float beta = 0.7978845608028654f;  // sqrt(2/π)
static const float kappa = 0.044715f;

/// x ← gelu_tanh(x).
INLINE void gelu(f16 *x) {
    f16 v = *x, t = beta * (v + kappa * (v * v * v));
    tanh16(&t);
    *x = 0.5f * v * (1.0f + t);
}

/// x ← gelu_tanh'(x).
INLINE void gelu_derivative(f16 *x) {
    f16 v = *x, v2 = v * v, t = beta * (v + kappa * (v2 * v));
    tanh16(&t);
    *x = 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * (beta * (1.0f + 3.0f * kappa * v2));
}

CLONES void hybrid_gelu_forward(float *out, const float *x, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        f16 v = LOAD(x + i);
        gelu(&v);
        STORE(out + i, v);
    }
    if (i < n) {
        f16 v;
        load_partial(&v, x + i, n - i, 0);
        gelu(&v);
        store_partial(out + i, &v, n - i);
    }
}

CLONES void hybrid_gelu_backward(float *dx, const float *x, const float *dout, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        f16 d = LOAD(x + i);
        gelu_derivative(&d);
        STORE(dx + i, LOAD(dx + i) + LOAD(dout + i) * d);
    }
    if (i < n) {
        f16 d, g, up;
        load_partial(&d, x + i, n - i, 0);
        gelu_derivative(&d);
        load_partial(&g, dx + i, n - i, 0);
        load_partial(&up, dout + i, n - i, 0);
        g += up * d;
        store_partial(dx + i, &g, n - i);
    }
}

CLONES float hybrid_exponentiate(const float *src, float *dst, size_t n, float m) {
    f16 acc = 0.0f;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        f16 e = LOAD(src + i) - m;
        exp16(&e);
        STORE(dst + i, e);
        acc += e;
    }
    if (i < n) {
        // e^−∞ = 0: the padding lanes add nothing to the sum.
        f16 e;
        load_partial(&e, src + i, n - i, -INFINITY);
        e -= m;
        exp16(&e);
        store_partial(dst + i, &e, n - i);
        acc += e;
    }
    // Halves added pairwise (ext_vector .lo/.hi): 4 adds, not 15.
    float __attribute__((ext_vector_type(8))) s8 = acc.lo + acc.hi;
    float __attribute__((ext_vector_type(4))) s4 = s8.lo + s8.hi;
    float __attribute__((ext_vector_type(2))) s2 = s4.lo + s4.hi;
    return s2.x + s2.y;
}
