#version 450
#extension GL_GOOGLE_include_directive : require
#include "elementwise.glsl"
// One generation step over a key/value cache (AttentionDecode.swift), one invocation per head
// h (each writes and then reads only its own D columns of the cache, so no barrier is needed);
// legend C channels, H heads, D = C/H, scale = 1/sqrt(D), p the token's position:
//   keys[p, h·D..] = k_h,  values[p, h·D..] = v_h
//   out[h·D + d] = Σ_{j ≤ p} softmax_j(scale · q_h · keys[j, h]) · values[j, h·D + d]
// Two passes over the cached scores (max, then sum and output) keep no row buffer.
layout(push_constant) uniform Push { uvec2 o, qkv, keys, values, position; uint C, H; } p;
void main() {
    uint h = INDEX;
    if (h >= p.H) return;
    uint D = p.C / p.H, pos = uint(I(p.position, 0)), base = h * D;
    float scale = 1.0 / sqrt(float(D));
    for (uint d = 0; d < D; d++) {
        STORE(p.keys, pos * p.C + base + d, F(p.qkv, p.C + base + d));
        STORE(p.values, pos * p.C + base + d, F(p.qkv, 2u * p.C + base + d));
    }
    float m = -3.402823466e38;
    for (uint j = 0; j <= pos; j++) {
        float s = 0.0;
        for (uint d = 0; d < D; d++) s += F(p.qkv, base + d) * F(p.keys, j * p.C + base + d);
        m = max(m, s * scale);
    }
    float total = 0.0;
    for (uint d = 0; d < D; d++) STORE(p.o, base + d, 0.0);
    for (uint j = 0; j <= pos; j++) {
        float s = 0.0;
        for (uint d = 0; d < D; d++) s += F(p.qkv, base + d) * F(p.keys, j * p.C + base + d);
        float w = exp(s * scale - m);
        total += w;
        for (uint d = 0; d < D; d++) ACCUMULATE(p.o, base + d, w * F(p.values, j * p.C + base + d));
    }
    for (uint d = 0; d < D; d++) STORE(p.o, base + d, F(p.o, base + d) / total);
}
