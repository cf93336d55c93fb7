#version 450
#extension GL_GOOGLE_include_directive : require
#include "elementwise.glsl"
// out[n] = a[n] · b[n]  (Mul forward)
layout(push_constant) uniform Push { uvec2 o, a, b; uint n; } p;
void main() {
    uint i = INDEX;
    if (i < p.n) STORE(p.o, i, F(p.a, i) * F(p.b, i));
}
