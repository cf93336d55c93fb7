#version 450
#extension GL_GOOGLE_include_directive : require
#include "elementwise.glsl"
// y[n] += Σ_r x[r,n]  (AddBroadcast's dy and Linear's dbias): one invocation per column,
// rows in order, so the sum is deterministic.
layout(push_constant) uniform Push { uvec2 y, x; uint R, n; } p;
void main() {
    uint c = INDEX;
    if (c >= p.n) return;
    float s = 0.0;
    for (uint r = 0; r < p.R; r++) s += F(p.x, r * p.n + c);
    F(p.y, c) += s;
}
