#version 450
#extension GL_GOOGLE_include_directive : require
#include "elementwise.glsl"
// Softmax cross-entropy rows (CrossEntropy.swift), one invocation per row; legend N rows,
// V vocabulary:
//   probs[i,:] = softmax(logits[i,:])
//   rowLoss[i] = weights[i] · (log Σ exp(z − m) − (z_target − m))   (0 where the weight is 0)
// sum.comp then divides Σ rowLoss by W = max(Σ weights, 1). A target outside 0..<V with a
// nonzero weight gives NaN, so a bad batch cannot train silently.
layout(push_constant) uniform Push { uvec2 probs, logits, targets, weights, rowLoss; uint N, V; } p;
void main() {
    uint row = INDEX;
    if (row >= p.N) return;
    uint base = row * p.V;
    float m = -3.402823466e38;
    for (uint j = 0; j < p.V; j++) m = max(m, F(p.logits, base + j));
    float s = 0.0;
    for (uint j = 0; j < p.V; j++) { float e = exp(F(p.logits, base + j) - m); STORE(p.probs, base + j, e); s += e; }
    float inv = 1.0 / s;
    for (uint j = 0; j < p.V; j++) STORE(p.probs, base + j, F(p.probs, base + j) * (inv));
    float w = F(p.weights, row);
    int target = I(p.targets, row);
    float loss = 0.0;
    if (w != 0.0) loss = (target >= 0 && uint(target) < p.V) ? w * (log(s) - (F(p.logits, base + uint(target)) - m)) : uintBitsToFloat(0x7fc00000u);
    STORE(p.rowLoss, row, loss);
}
