#version 450
#extension GL_GOOGLE_include_directive : require
#include "elementwise.glsl"
// dlogits[i,:] += dloss · weights[i] / W · (probs[i,:] − onehot(targets[i])); W = max(Σ w, 1)
// was stored by the forward's sum.comp.
layout(push_constant) uniform Push { uvec2 dlogits, probs, targets, weights, dloss, normalizer; uint N, V; } p;
void main() {
    uint i = INDEX;
    if (i >= p.N * p.V) return;
    uint row = i / p.V, j = i % p.V;
    float w = F(p.weights, row);
    if (w == 0.0) return;
    float g = F(p.dloss, 0) / F(p.normalizer, 0) * w;
    ACCUMULATE(p.dlogits, i, g * (F(p.probs, i) - (uint(I(p.targets, row)) == j ? 1.0 : 0.0)));
}
