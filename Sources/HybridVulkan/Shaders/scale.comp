#version 450
#extension GL_GOOGLE_include_directive : require
#include "elementwise.glsl"
// out[n] = s · x[n]  (Scale forward; in place for gradient clipping)
layout(push_constant) uniform Push { uvec2 o, x; uint n; float s; } p;
void main() {
    uint i = INDEX;
    if (i < p.n) STORE(p.o, i, p.s * F(p.x, i));
}
