#version 450
#extension GL_GOOGLE_include_directive : require
#include "elementwise.glsl"
// Column sums of x[R,n] over blocks of B rows (legend: P = ⌈R / B⌉ blocks). One invocation per
// (block b, column c), index b·n + c, adding its block's rows in order, so the sum is
// deterministic:
//   accumulate = 1 (P = 1):  y[c] += Σ_r x[r,c]                 (AddBroadcast's dy, Linear's dbias)
//   accumulate = 0:          y[b·n + c] = Σ_{r in block b} x[r,c]  (partials[P,n] in scratch)
// Large R runs it twice: partials over blocks, then the partials (R = P, B = P) accumulated.
layout(push_constant) uniform Push { uvec2 y, x; uint R, n, B, accumulate; } p;
void main() {
    uint i = INDEX;
    uint c = i % p.n, block = i / p.n;
    if (block * p.B >= p.R) return;
    uint end = min(p.R, (block + 1) * p.B);
    float s = 0.0;
    for (uint r = block * p.B; r < end; r++) s += F(p.x, r * p.n + c);
    if (p.accumulate != 0u) ACCUMULATE(p.y, i, s);
    else STORE(p.y, i, s);
}
