#version 450
#extension GL_GOOGLE_include_directive : require
#include "elementwise.glsl"
// out[R,n] = x[R,n] + y[n]  (AddBroadcast forward; total = R·n)
layout(push_constant) uniform Push { uvec2 o, x, y; uint n, total; } p;
void main() {
    uint i = INDEX;
    if (i < p.total) STORE(p.o, i, F(p.x, i) + F(p.y, i % p.n));
}
