#version 450
#extension GL_GOOGLE_include_directive : require
#include "reduce.glsl"
// One workgroup: out = Σ x[0..<n] / (divisor · W), W = max(Σ weights[0..<N], 1) when hasWeights
// is 1, max(N, 1) when it is 2 (a loss normalised by its rows), else 1. Stores divisor · W at `normalizer` for the loss backwards. Used for the cross-entropy
// and MSE losses (over rows), Mean (divisor n), and the gradient norm's partial sums.
// squares = 1 sums x² instead (the gradient norm's partials, one group per slice of `chunk`).
layout(push_constant) uniform Push { uvec2 o, x, weights, normalizer; uint n, N, hasWeights, squares, chunk; float divisor; } p;
void main() {
    uint lid = gl_LocalInvocationID.x;
    uint begin = GROUP * p.chunk, end = min(p.n, begin + p.chunk);
    float s = 0.0;
    for (uint i = begin + lid; i < end; i += WG) { float v = F(p.x, i); s += p.squares != 0u ? v * v : v; }
    s = workgroupSum(s);
    float W = 1.0;
    if (p.hasWeights == 2u) {
        W = max(float(p.N), 1.0);
    } else if (p.hasWeights == 1u) {
        float sw = 0.0;
        for (uint i = lid; i < p.N; i += WG) sw += F(p.weights, i);
        W = max(workgroupSum(sw), 1.0);
    }
    if (lid == 0u) {
        float norm = p.divisor * W;
        STORE(p.o, GROUP, s / norm);
        if (p.hasWeights != 0u) STORE(p.normalizer, 0, norm);
    }
}
