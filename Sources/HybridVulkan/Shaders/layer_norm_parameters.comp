#version 450
#extension GL_GOOGLE_include_directive : require
#include "elementwise.glsl"
// LayerNorm backward, parameters: dw[C] += Σ_rows dout · xhat,  db[C] += Σ_rows dout; one
// invocation per channel, rows in order. A flag bit per gradient (1: dw, 2: db).
layout(push_constant) uniform Push { uvec2 dw, db, dout, x, mean, rstd; uint N, C, which; } p;
void main() {
    uint c = INDEX;
    if (c >= p.C) return;
    float sw = 0.0, sb = 0.0;
    for (uint row = 0; row < p.N; row++) {
        float g = F(p.dout, row * p.C + c);
        sw += g * ((F(p.x, row * p.C + c) - F(p.mean, row)) * F(p.rstd, row));
        sb += g;
    }
    if ((p.which & 1u) != 0u) F(p.dw, c) += sw;
    if ((p.which & 2u) != 0u) F(p.db, c) += sb;
}
