#version 450
#extension GL_GOOGLE_include_directive : require
#include "elementwise.glsl"
// AdamW with bfloat16 moment pairs (AdamW.swift's second update: m in the low half of each
// word, v in the high half). The fp32 step's arithmetic (adamw.comp); the new moments are
// rounded stochastically with BFloat16.randomBits of element first + i at step, as the CPU
// rounds them, so both backends hold the same words.
layout(push_constant) uniform Push { uvec2 param, grad, moments; uint n; float beta1, beta2, eps, decay, stepSize, rootCorrection2; uint first, step; } p;

// BFloat16.randomBits: Wellons' lowbias32 over the element and the step.
uint randomBits(uint index, uint step) {
    uint x = index ^ (step * 0x9E3779B9u);
    x ^= x >> 16;
    x *= 0x7FEB352Du;
    x ^= x >> 15;
    x *= 0x846CA68Bu;
    x ^= x >> 16;
    return x;
}

// BFloat16.stochastic: x's bits plus 16 random bits, truncated; NaN stays NaN.
uint stochastic(float x, uint random) {
    return isnan(x) ? 0x7FC0u : (floatBitsToUint(x) + (random & 0xFFFFu)) >> 16;
}

void main() {
    uint i = INDEX;
    if (i >= p.n) return;
    float g = F(p.grad, i);
    // Read and written as integers: a pair is no float, and a float load may flush it.
    uint pair = uint(I(p.moments, i));
    float mi = p.beta1 * uintBitsToFloat(pair << 16) + (1.0 - p.beta1) * g;
    float vi = p.beta2 * uintBitsToFloat(pair & 0xFFFF0000u) + (1.0 - p.beta2) * (g * g);
    uint random = randomBits(p.first + i, p.step);
    I(p.moments, i) = int(stochastic(mi, random) | (stochastic(vi, random >> 16) << 16));
    STORE(p.param, i, F(p.param, i) * p.decay - p.stepSize * (mi / (sqrt(vi) / p.rootCorrection2 + p.eps)));
}
