#version 450
#extension GL_GOOGLE_include_directive : require
#include "elementwise.glsl"
// Mean backward: dx[n] += dout / n, dout the scalar gradient.
layout(push_constant) uniform Push { uvec2 dx, dout; uint n; } p;
void main() {
    uint i = INDEX;
    if (i < p.n) ACCUMULATE(p.dx, i, F(p.dout, 0) / float(p.n));
}
