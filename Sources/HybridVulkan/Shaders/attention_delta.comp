#version 450
#extension GL_GOOGLE_include_directive : require
#include "elementwise.glsl"
// Attention backward, first pass: one invocation per query row (b, h, t) (legend as
// attention.glsl):  delta[b,h,t] = Σ_d dout[b,t,h·D + d] · out[b,t,h·D + d]
// which equals Σ_j P_j dP_j (out = P·V, dP_j = dout·v_j), the softmax backward's row term.
layout(push_constant) uniform Push { uvec2 delta, dout, o; uint B, T, C, H; } p;
void main() {
    uint row = INDEX;
    if (row >= p.B * p.H * p.T) return;
    uint t = row % p.T, h = (row / p.T) % p.H, b = row / (p.T * p.H);
    uint D = p.C / p.H, at = b * p.T * p.C + t * p.C + h * D;
    float acc = 0.0;
    for (uint d = 0; d < D; d++) acc += F(p.dout, at + d) * F(p.o, at + d);
    STORE(p.delta, row, acc);
}
