#version 450
#extension GL_GOOGLE_include_directive : require
#include "attention.glsl"
// Fused attention backward, keys and values (legend and tiling in attention.glsl): one group
// per (b, h, block of BR key rows), walking the query blocks (BC rows each) whose rows see any
// of its keys, with Q, dout and the rows' lse, delta and windows staged in shared memory:
//   P_t = e^(scale · q_t·k_j − lse[b,h,t]),   dP_t = dout_t · v_j   (t whose window holds j)
//   dS_t = P_t (dP_t − delta[b,h,t])
//   dv_j += Σ_t P_t dout_t,   dk_j += scale · Σ_t dS_t q_t   (into dqkv, accumulating)
layout(push_constant) uniform Push { uvec2 dqkv, dout, qkv, lse, delta, keyStart, keyEnd; uint B, T, C, H; } p;
shared vec4 queries[BC * DP], gradients[BC * DP];
shared float partials[BR * SPLIT * PS], partialsDP[BR * SPLIT * PS];
shared float lses[BC], deltas[BC];
shared int starts[BC], ends[BC];

void main() {
    uint blocks = (p.T + BR - 1) / BR, bh = GROUP / blocks;
    if (bh >= p.B * p.H) return;
    uint lid = gl_LocalInvocationID.x, row = lid / SPLIT, part = lid % SPLIT;
    uint b = bh / p.H, h = bh % p.H, j0 = (GROUP % blocks) * BR, j = j0 + row;
    uint D = p.C / p.H, C3 = 3u * p.C, base = b * p.T * C3 + h * D, obase = b * p.T * p.C + h * D;
    float scale = 1.0 / sqrt(float(D));
    bool live = j < p.T;
    vec4 k[SLICE], v[SLICE], dk[SLICE], dv[SLICE];
    LOAD_SLICE(k, p.qkv, base + p.C + j * C3, D, live)
    LOAD_SLICE(v, p.qkv, base + 2u * p.C + j * C3, D, live)
    [[unroll]] for (uint i = 0; i < SLICE; i++) { dk[i] = vec4(0.0); dv[i] = vec4(0.0); }
    for (uint t0 = 0; t0 < p.T; t0 += BC) {
        barrier();            // the previous block's tiles and partials are read
        for (uint r = lid; r < BC; r += NT) {
            ivec2 w = window(p.keyStart, p.keyEnd, t0 + r, p.T);
            starts[r] = w.x; ends[r] = w.y;
            float lse = 0.0, delta = 0.0;
            if (t0 + r < p.T) { lse = F(p.lse, bh * p.T + t0 + r); delta = F(p.delta, bh * p.T + t0 + r); }
            lses[r] = lse; deltas[r] = delta;
        }
        barrier();
        bool seen = false;    // the same answer in every invocation: the barriers stay uniform
        for (uint r = 0; r < BC; r++) seen = seen || (starts[r] < ends[r] && starts[r] < int(j0 + BR) && ends[r] > int(j0));
        if (!seen) continue;
        STAGE(queries, BC, p.qkv, base, C3, t0, p.T, D)
        STAGE(gradients, BC, p.dout, obase, p.C, t0, p.T, D)
        barrier();
        for (uint tt = 0; tt < BC; tt++) {
            float s, dp;
            DOT_SLICE(s, k, queries, tt)
            DOT_SLICE(dp, v, gradients, tt)
            partials[lid * PS + tt] = s;
            partialsDP[lid * PS + tt] = dp;
        }
        barrier();
        for (uint tt = 0; tt < BC; tt++) {
            if (int(j) < starts[tt] || int(j) >= ends[tt]) continue;
            float s, dp;
            REDUCE(s, partials, tt)
            REDUCE(dp, partialsDP, tt)
            float P = exp(scale * s - lses[tt]);
            AXPY_SLICE(dv, P, gradients, tt)
            AXPY_SLICE(dk, P * (dp - deltas[tt]), queries, tt)
        }
    }
    if (!live) return;
    STORE_SLICE(p.dqkv, base + p.C + j * C3, D, dk, scale, true)
    STORE_SLICE(p.dqkv, base + 2u * p.C + j * C3, D, dv, 1.0, true)
}
