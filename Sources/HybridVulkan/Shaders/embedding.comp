#version 450
#extension GL_GOOGLE_include_directive : require
#include "elementwise.glsl"
// Embedding forward (Embedding.swift), legend N rows, C channels, one invocation per element:
//   out[N,C] = table[ids[N], C]
// (The backward, dtable[ids[i], c] += dout[i, c], is embedding_backward.comp.)
layout(push_constant) uniform Push { uvec2 table, ids, o; uint N, C; } p;
void main() {
    uint i = INDEX;
    if (i >= p.N * p.C) return;
    uint row = i / p.C, c = i % p.C;
    STORE(p.o, i, F(p.table, uint(I(p.ids, row)) * p.C + c));
}
