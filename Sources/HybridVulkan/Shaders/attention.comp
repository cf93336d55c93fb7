#version 450
#extension GL_GOOGLE_include_directive : require
#include "attention.glsl"
// Fused multi-head attention forward (Attention.swift is the reference; legend and tiling in
// attention.glsl). One group per (b, h, block of BR query rows); key blocks of BC rows are
// staged in shared memory, K then V in the same tile; online softmax per row:
//   s_j = scale · q_t·k_j for j in the row's window,   m' = max(m, max_j s_j)
//   l ← l·e^(m−m') + Σ_j e^(s_j−m'),   o ← o·e^(m−m') + Σ_j e^(s_j−m') v_j
//   out[b,t,h·D + d] = o[d] / l,   lse[b,h,t] = m + log l      (empty window: out 0, lse 0)
// lse[B,H,T] is all the backward keeps (it recomputes P = e^(s − lse)). Key blocks no row of
// the group sees are skipped: a causal mask does about half the work.
layout(push_constant) uniform Push { uvec2 o, lse, qkv, keyStart, keyEnd; uint B, T, C, H; } p;
shared vec4 tile[BC * DP];
shared float partials[BR * SPLIT * PS];
shared int starts[BR], ends[BR];

void main() {
    uint blocks = (p.T + BR - 1) / BR, bh = GROUP / blocks;
    if (bh >= p.B * p.H) return;
    uint lid = gl_LocalInvocationID.x, row = lid / SPLIT, part = lid % SPLIT;
    uint b = bh / p.H, h = bh % p.H, t0 = (GROUP % blocks) * BR, t = t0 + row;
    uint D = p.C / p.H, C3 = 3u * p.C, base = b * p.T * C3 + h * D;
    float scale = 1.0 / sqrt(float(D));
    if (lid < BR) { ivec2 w = window(p.keyStart, p.keyEnd, t0 + lid, p.T); starts[lid] = w.x; ends[lid] = w.y; }
    barrier();
    int lo = int(p.T), hi = 0;
    for (uint r = 0; r < BR; r++) if (starts[r] < ends[r]) { lo = min(lo, starts[r]); hi = max(hi, ends[r]); }
    int start = starts[row], end = ends[row];
    vec4 q[SLICE], o[SLICE];
    LOAD_SLICE(q, p.qkv, base + t * C3, D, t < p.T)
    [[unroll]] for (uint i = 0; i < SLICE; i++) { q[i] *= scale; o[i] = vec4(0.0); }
    float m = -3.402823466e38, l = 0.0;
    for (int j0 = (lo / int(BC)) * int(BC); j0 < hi; j0 += int(BC)) {
        bool seen = false;    // the same answer in every invocation: the barriers stay uniform
        for (uint r = 0; r < BR; r++) seen = seen || (starts[r] < ends[r] && starts[r] < j0 + int(BC) && ends[r] > j0);
        if (!seen) continue;
        barrier();            // the previous block's V and partials are read
        STAGE(tile, BC, p.qkv, base + p.C, C3, uint(j0), p.T, D)
        barrier();
        for (uint jj = 0; jj < BC; jj++) { float s; DOT_SLICE(s, q, tile, jj) partials[lid * PS + jj] = s; }
        barrier();
        STAGE(tile, BC, p.qkv, base + 2u * p.C, C3, uint(j0), p.T, D)
        float mNew = m;
        for (uint jj = 0; jj < BC; jj++) {
            int j = j0 + int(jj);
            float s; REDUCE(s, partials, jj)
            if (j >= start && j < end) mNew = max(mNew, s);
        }
        barrier();
        float correction = exp(m - mNew);
        m = mNew;
        l *= correction;
        [[unroll]] for (uint i = 0; i < SLICE; i++) o[i] *= correction;
        for (uint jj = 0; jj < BC; jj++) {
            int j = j0 + int(jj);
            if (j < start || j >= end) continue;
            float s; REDUCE(s, partials, jj)
            float e = exp(s - m);
            l += e;
            AXPY_SLICE(o, e, tile, jj)
        }
    }
    if (t >= p.T) return;
    STORE_SLICE(p.o, b * p.T * p.C + t * p.C + h * D, D, o, l > 0.0 ? 1.0 / l : 0.0, false)
    if (part == 0u) STORE(p.lse, bh * p.T + t, l > 0.0 ? m + log(l) : 0.0);
}
