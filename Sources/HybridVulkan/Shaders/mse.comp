#version 450
#extension GL_GOOGLE_include_directive : require
#include "elementwise.glsl"
// Weighted mean-squared error (MSE.swift); legend N rows, F features.
//   forward (backward = 0, one invocation per row):
//     rowLoss[i] = weights[i] · Σ_f (prediction − target)²     (0 where the weight is 0)
//     then sum.comp: loss = Σ rowLoss / (F · W), W = max(Σ weights, 1), stored for the backward
//   backward (backward = 1, one invocation per element), g = 2 · dloss · weights[i] / (F · W):
//     dprediction += g · (prediction − target)  (which bit 1),  dtarget −= the same (bit 2)
layout(push_constant) uniform Push { uvec2 prediction, target, weights, rowLoss, dprediction, dtarget, dloss, normalizer; uint N, F, backward, which; } p;
void main() {
    uint i = INDEX;
    if (p.backward == 0u) {
        if (i >= p.N) return;
        float w = F(p.weights, i), s = 0.0;
        if (w != 0.0) {
            for (uint f = 0; f < p.F; f++) { float d = F(p.prediction, i * p.F + f) - F(p.target, i * p.F + f); s += d * d; }
        }
        STORE(p.rowLoss, i, w != 0.0 ? w * s : 0.0);
    } else {
        if (i >= p.N * p.F) return;
        float w = F(p.weights, i / p.F);
        if (w == 0.0) return;
        float g = 2.0 * F(p.dloss, 0) / F(p.normalizer, 0) * w;
        float d = g * (F(p.prediction, i) - F(p.target, i));
        if ((p.which & 1u) != 0u) ACCUMULATE(p.dprediction, i, d);
        if ((p.which & 2u) != 0u) ACCUMULATE(p.dtarget, i, -(d));
    }
}
