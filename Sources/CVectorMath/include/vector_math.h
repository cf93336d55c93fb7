// The CPU kernels whose speed is the vector unit's: element-wise transcendental functions.
// Each is compiled for x86-64-v4 (AVX-512), x86-64-v3 (AVX2, FMA) and the baseline, and the
// loader picks the widest the CPU runs (an ifunc), which Swift code, built for the baseline
// alone, cannot do. Callers split the work over the cores; these run on the calling thread.

#ifndef HYBRID_VECTOR_MATH_H
#define HYBRID_VECTOR_MATH_H

#include <stddef.h>

/// out[i] = gelu_tanh(x[i]) for i in 0..<n. out may be x.
void hybrid_gelu_forward(float *out, const float *x, size_t n);

/// dx[i] += dout[i] · gelu_tanh'(x[i]) for i in 0..<n.
void hybrid_gelu_backward(float *dx, const float *x, const float *dout, size_t n);

/// dst[i] = e^(src[i] − m) for i in 0..<n, returning their sum. dst may be src.
float hybrid_exponentiate(const float *src, float *dst, size_t n, float m);

#endif
