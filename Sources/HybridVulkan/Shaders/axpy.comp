#version 450
#extension GL_GOOGLE_include_directive : require
#include "elementwise.glsl"
// y[n] += s · x[n]  (the backward of add, scale and add_broadcast's dx)
layout(push_constant) uniform Push { uvec2 y, x; uint n; float s; } p;
void main() {
    uint i = INDEX;
    if (i < p.n) ACCUMULATE(p.y, i, p.s * F(p.x, i));
}
