#version 450
#extension GL_GOOGLE_include_directive : require
#include "elementwise.glsl"
// Attention backward, keys and values: one invocation per (b, h, j, d), summing over the
// query rows t whose window holds key j (legend as attention.comp):
//   dk_j[d] += scale · Σ_t dS[t,j] · q_t[d],   dv_j[d] += Σ_t P[t,j] · dout_t[d]
layout(push_constant) uniform Push { uvec2 dqkv, dscores, dout, qkv, probs, keyStart, keyEnd; uint B, T, C, H; } p;
void main() {
    uint i = INDEX;
    uint D = p.C / p.H, C3 = 3u * p.C;
    if (i >= p.B * p.H * p.T * D) return;
    uint d = i % D, j = (i / D) % p.T, h = (i / (D * p.T)) % p.H, b = i / (D * p.T * p.H);
    float scale = 1.0 / sqrt(float(D));
    uint rows = (b * p.H + h) * p.T;
    float dk = 0.0, dv = 0.0;
    for (uint t = 0; t < p.T; t++) {
        if (int(j) < I(p.keyStart, t) || int(j) >= I(p.keyEnd, t)) continue;
        uint at = (rows + t) * p.T + j;
        dk += F(p.dscores, at) * F(p.qkv, b * p.T * C3 + t * C3 + h * D + d);
        dv += F(p.probs, at) * F(p.dout, b * p.T * p.C + t * p.C + h * D + d);
    }
    uint k = b * p.T * C3 + j * C3 + p.C + h * D + d;
    F(p.dqkv, k) += scale * dk;
    F(p.dqkv, k + p.C) += dv;
}
