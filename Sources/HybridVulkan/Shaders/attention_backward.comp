#version 450
#extension GL_GOOGLE_include_directive : require
#include "elementwise.glsl"
// Attention backward, one invocation per query row (b, h, t) (legend as attention.comp):
//   dP_j = dout_t · v_j,   dS_j = P_j (dP_j − Σ_j P_j dP_j)    (0 outside the window; kept in
//   dscores[b,h,t,:] for attention_backward_keys.comp)
//   dq_t += scale · Σ_j dS_j k_j
layout(push_constant) uniform Push { uvec2 dqkv, dscores, dout, qkv, probs, keyStart, keyEnd; uint B, T, C, H; } p;
void main() {
    uint row = INDEX;
    if (row >= p.B * p.H * p.T) return;
    uint t = row % p.T, h = (row / p.T) % p.H, b = row / (p.T * p.H);
    uint D = p.C / p.H, C3 = 3u * p.C;
    float scale = 1.0 / sqrt(float(D));
    uint start = uint(clamp(I(p.keyStart, t), 0, int(p.T))), end = uint(clamp(I(p.keyEnd, t), 0, int(p.T)));
    uint prow = row * p.T;
    uint dO = b * p.T * p.C + t * p.C + h * D, vbase = b * p.T * C3 + 2u * p.C + h * D;
    float dot = 0.0;
    for (uint j = 0; j < p.T; j++) {
        float dp = 0.0;
        if (j >= start && j < end) {
            for (uint d = 0; d < D; d++) dp += F(p.dout, dO + d) * F(p.qkv, vbase + j * C3 + d);
            dot += F(p.probs, prow + j) * dp;
        }
        F(p.dscores, prow + j) = dp;
    }
    for (uint j = 0; j < p.T; j++) F(p.dscores, prow + j) = F(p.probs, prow + j) * (F(p.dscores, prow + j) - dot);
    uint kbase = b * p.T * C3 + p.C + h * D, dq = b * p.T * C3 + t * C3 + h * D;
    for (uint d = 0; d < D; d++) {
        float acc = 0.0;
        for (uint j = start; j < end; j++) acc += F(p.dscores, prow + j) * F(p.qkv, kbase + j * C3 + d);
        F(p.dqkv, dq + d) += scale * acc;
    }
}
