#version 450
#extension GL_GOOGLE_include_directive : require
#include "elementwise.glsl"
// LayerNorm backward, parameters: dw[C] += Σ_rows dout · xhat,  db[C] += Σ_rows dout, over
// N rows in blocks of B (legend: C channels, P = ⌈N / B⌉ blocks). One invocation per
// (block b, channel c), index b·C + c, sums its block's rows in order:
//   accumulate = 1 (P = 1):  dw[c] += sw,  db[c] += sb
//   accumulate = 0:          dw[b·C + c] = sw,  db[b·C + c] = sb   (partials[P,C] in scratch,
//                            then column_sum.comp adds them in block order into the gradients)
// A flag bit per output (1: dw, 2: db).
layout(push_constant) uniform Push { uvec2 dw, db, dout, x, mean, rstd; uint N, C, B, which, accumulate; } p;
void main() {
    uint i = INDEX;
    uint c = i % p.C, block = i / p.C;
    if (block * p.B >= p.N) return;
    uint end = min(p.N, (block + 1) * p.B);
    float sw = 0.0, sb = 0.0;
    for (uint row = block * p.B; row < end; row++) {
        float g = F(p.dout, row * p.C + c);
        sw += g * ((F(p.x, row * p.C + c) - F(p.mean, row)) * F(p.rstd, row));
        sb += g;
    }
    if (p.accumulate != 0u) {
        if ((p.which & 1u) != 0u) ACCUMULATE(p.dw, i, sw);
        if ((p.which & 2u) != 0u) ACCUMULATE(p.db, i, sb);
    } else {
        if ((p.which & 1u) != 0u) STORE(p.dw, i, sw);
        if ((p.which & 2u) != 0u) STORE(p.db, i, sb);
    }
}
