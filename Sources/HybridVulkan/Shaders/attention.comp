#version 450
#extension GL_GOOGLE_include_directive : require
#include "elementwise.glsl"
// Multi-head attention forward (Attention.swift), one invocation per query row (b, h, t);
// legend B batch, T time, C channels, H heads, D = C/H, scale = 1/sqrt(D). qkv[B,T,3C] holds
// q | k | v; query t sees keys keyStart[t] <= j < keyEnd[t] (an empty window: probs and out 0).
//   probs[b,h,t,:] = softmax over the window of scale · q_t·k_j   (0 outside it)
//   out[b,t,h·D + d] = Σ_j probs[b,h,t,j] · v_j[d]
// The scores go straight into probs (saved for the backward): no row buffer limits T.
layout(push_constant) uniform Push { uvec2 o, probs, qkv, keyStart, keyEnd; uint B, T, C, H; } p;
void main() {
    uint row = INDEX;
    if (row >= p.B * p.H * p.T) return;
    uint t = row % p.T, h = (row / p.T) % p.H, b = row / (p.T * p.H);
    uint D = p.C / p.H, C3 = 3u * p.C;
    float scale = 1.0 / sqrt(float(D));
    uint start = uint(clamp(I(p.keyStart, t), 0, int(p.T))), end = uint(clamp(I(p.keyEnd, t), 0, int(p.T)));
    uint prow = row * p.T;
    uint q = b * p.T * C3 + t * C3 + h * D, kbase = b * p.T * C3 + p.C + h * D;
    float m = -3.402823466e38;
    for (uint j = 0; j < p.T; j++) {
        float s = 0.0;
        if (j >= start && j < end) {
            for (uint d = 0; d < D; d++) s += F(p.qkv, q + d) * F(p.qkv, kbase + j * C3 + d);
            s *= scale;
            m = max(m, s);
        }
        F(p.probs, prow + j) = s;
    }
    float sum = 0.0;
    for (uint j = start; j < end; j++) { float e = exp(F(p.probs, prow + j) - m); F(p.probs, prow + j) = e; sum += e; }
    float inv = sum > 0.0 ? 1.0 / sum : 0.0;
    for (uint j = 0; j < p.T; j++) F(p.probs, prow + j) = (j >= start && j < end) ? F(p.probs, prow + j) * inv : 0.0;
    uint vbase = b * p.T * C3 + 2u * p.C + h * D, o = b * p.T * p.C + t * p.C + h * D;
    for (uint d = 0; d < D; d++) {
        float acc = 0.0;
        for (uint j = start; j < end; j++) acc += F(p.probs, prow + j) * F(p.qkv, vbase + j * C3 + d);
        F(p.o, o + d) = acc;
    }
}
