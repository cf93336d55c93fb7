#version 450
#extension GL_GOOGLE_include_directive : require
#include "attention.glsl"
// Fused attention backward, queries (legend and tiling in attention.glsl): one group per
// (b, h, block of BR query rows), walking the key blocks its rows see with K and V staged in
// shared memory; P is recomputed from the forward's log-sum-exp, nothing [T,T] is stored:
//   P_j = e^(scale · q_t·k_j − lse[b,h,t]),   dP_j = dout_t · v_j   (j in the row's window)
//   dS_j = P_j (dP_j − delta[b,h,t])          (delta from attention_delta.comp)
//   dq_t += scale · Σ_j dS_j k_j              (into dqkv, accumulating; no atomics)
layout(push_constant) uniform Push { uvec2 dqkv, dout, qkv, lse, delta, keyStart, keyEnd; uint B, T, C, H; } p;
shared vec4 keys[BC * DP], values[BC * DP];
shared float partials[BR * SPLIT * PS], partialsDP[BR * SPLIT * PS];
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
    bool live = t < p.T;
    vec4 q[SLICE], dO[SLICE], dq[SLICE];
    LOAD_SLICE(q, p.qkv, base + t * C3, D, live)
    LOAD_SLICE(dO, p.dout, b * p.T * p.C + t * p.C + h * D, D, live)
    [[unroll]] for (uint i = 0; i < SLICE; i++) dq[i] = vec4(0.0);
    float lse = 0.0, delta = 0.0;
    if (live) { lse = F(p.lse, bh * p.T + t); delta = F(p.delta, bh * p.T + t); }
    for (int j0 = (lo / int(BC)) * int(BC); j0 < hi; j0 += int(BC)) {
        bool seen = false;
        for (uint r = 0; r < BR; r++) seen = seen || (starts[r] < ends[r] && starts[r] < j0 + int(BC) && ends[r] > j0);
        if (!seen) continue;
        barrier();
        STAGE(keys, BC, p.qkv, base + p.C, C3, uint(j0), p.T, D)
        STAGE(values, BC, p.qkv, base + 2u * p.C, C3, uint(j0), p.T, D)
        barrier();
        for (uint jj = 0; jj < BC; jj++) {
            float s, dp;
            DOT_SLICE(s, q, keys, jj)
            DOT_SLICE(dp, dO, values, jj)
            partials[lid * PS + jj] = s;
            partialsDP[lid * PS + jj] = dp;
        }
        barrier();
        for (uint jj = 0; jj < BC; jj++) {
            int j = j0 + int(jj);
            if (j < start || j >= end) continue;
            float s, dp;
            REDUCE(s, partials, jj)
            REDUCE(dp, partialsDP, jj)
            float ds = exp(scale * s - lse) * (dp - delta);
            AXPY_SLICE(dq, ds, keys, jj)
        }
    }
    if (!live) return;
    STORE_SLICE(p.dqkv, base + t * C3, D, dq, scale, true)
}
