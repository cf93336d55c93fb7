#version 450
#extension GL_GOOGLE_include_directive : require
#include "elementwise.glsl"
// y[n] += a[n] · b[n]  (Mul backward: da += dout·b, db += dout·a)
layout(push_constant) uniform Push { uvec2 y, a, b; uint n; } p;
void main() {
    uint i = INDEX;
    if (i < p.n) ACCUMULATE(p.y, i, F(p.a, i) * F(p.b, i));
}
