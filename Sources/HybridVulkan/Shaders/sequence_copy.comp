#version 450
#extension GL_GOOGLE_include_directive : require
#include "elementwise.glsl"
// For each of `blocks` blocks: dst[k·dstStride + i] = src[k·srcStride + i] (or += with
// accumulate), i < n. Sequence slice and concat, forward and backward (SequenceCopy.swift).
layout(push_constant) uniform Push { uvec2 dst, src; uint n, blocks, dstStride, srcStride, accumulate; } p;
void main() {
    uint i = INDEX;
    if (i >= p.n * p.blocks) return;
    uint k = i / p.n, j = i - k * p.n;
    float v = F(p.src, k * p.srcStride + j);
    if (p.accumulate != 0) ACCUMULATE(p.dst, k * p.dstStride + j, v);
    else STORE(p.dst, k * p.dstStride + j, v);
}
