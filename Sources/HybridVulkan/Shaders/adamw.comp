#version 450
#extension GL_GOOGLE_include_directive : require
#include "elementwise.glsl"
// AdamW (AdamW.swift) with fp32 moments: the scalars decay = 1 − lr·wd, stepSize =
// lr / (1 − β1^t) and rootCorrection2 = sqrt(1 − β2^t) come from AdamWSettings.scalars, as
// the CPU's do.
//   m ← β1·m + (1 − β1)·g,  v ← β2·v + (1 − β2)·g²
//   p ← p·decay − stepSize · (m / (sqrt(v) / rootCorrection2 + eps))
layout(push_constant) uniform Push { uvec2 param, grad, m, v; uint n; float beta1, beta2, eps, decay, stepSize, rootCorrection2; } p;
void main() {
    uint i = INDEX;
    if (i >= p.n) return;
    float g = F(p.grad, i);
    float mi = p.beta1 * F(p.m, i) + (1.0 - p.beta1) * g;
    float vi = p.beta2 * F(p.v, i) + (1.0 - p.beta2) * (g * g);
    STORE(p.m, i, mi);
    STORE(p.v, i, vi);
    STORE(p.param, i, F(p.param, i) * p.decay - p.stepSize * (mi / (sqrt(vi) / p.rootCorrection2 + p.eps)));
}
