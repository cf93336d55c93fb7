#version 450
#extension GL_GOOGLE_include_directive : require
#include "elementwise.glsl"
// GELU, tanh approximation (GELU.swift):
//   forward:  u = β·(x + κ·x³),  out = 0.5·x·(1 + tanh u)
//   backward: dx += dout · (0.5·(1 + tanh u) + 0.5·x·(1 − tanh² u) · β·(1 + 3κ·x²))
// backward = 0: out = gelu(x); backward = 1: o (= dx) += dout · gelu'(x).
layout(push_constant) uniform Push { uvec2 o, x, dout; uint n, backward; } p;
const float beta = 0.7978845608028654;
const float kappa = 0.044715;
void main() {
    uint i = INDEX;
    if (i >= p.n) return;
    float x = F(p.x, i);
    float t = tanh(beta * (x + kappa * x * x * x));
    if (p.backward == 0u) {
        STORE(p.o, i, 0.5 * x * (1.0 + t));
    } else {
        float d = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * beta * (1.0 + 3.0 * kappa * x * x);
        ACCUMULATE(p.o, i, F(p.dout, i) * d);
    }
}
