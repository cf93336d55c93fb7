#version 450
#extension GL_GOOGLE_include_directive : require
#include "elementwise.glsl"
// Embedding (Embedding.swift), legend N rows, C channels:
//   forward (backward = 0):  out[N,C] = table[ids[N], C]         one invocation per element
//   backward (backward = 1): dtable[ids[i], c] += dout[i, c]     one invocation per channel c,
//                            rows in order: repeated ids add up without races (the reference
//                            for embedding_backward.comp, which the executable runs).
layout(push_constant) uniform Push { uint table, ids, o, N, C, backward; } p;
void main() {
    uint i = INDEX;
    if (p.backward == 0u) {
        if (i >= p.N * p.C) return;
        uint row = i / p.C, c = i % p.C;
        F(p.o, i) = F(p.table, uint(I(p.ids, row)) * p.C + c);
    } else {
        if (i >= p.C) return;
        for (uint row = 0; row < p.N; row++) F(p.table, uint(I(p.ids, row)) * p.C + i) += F(p.o, row * p.C + i);
    }
}
