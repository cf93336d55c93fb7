// Shared by the fused attention kernels (attention.comp, attention_backward.comp,
// attention_backward_keys.comp), FlashAttention-2 style: never a [T,T] matrix in memory.
// Legend: B batch, T time, C channels, H heads, D = C/H, scale = 1/sqrt(D); qkv[B,T,3C] holds
// q | k | v, head h reads columns h·D ..< (h+1)·D of each; query t sees keys
// keyStart[t] <= j < keyEnd[t] (clamped to 0...T; start >= end: a fully masked row).
//
// Tiling (specialization constants, chosen per D and device by Kernel+Attention.swift): a
// group owns BR rows (query rows; key rows for dK/dV) and walks the other side in blocks of BC
// staged in shared memory. SPLIT invocations share a row, each holding SLICE vec4s of its D
// columns in registers, interleaved (vec4 part + i·SPLIT), so neighbours read neighbouring
// shared words. A row·block dot product is summed over the SPLIT parts through `partials`
// (a fixed order: every part gets the same bits). Rows are 0-padded to DP vec4s.
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
layout(constant_id = 0) const uint NT = 128;     // invocations per group = BR · SPLIT
layout(constant_id = 1) const uint BC = 32;      // rows of the other side per staged block
layout(constant_id = 2) const uint SPLIT = 1;    // invocations per row
layout(constant_id = 3) const uint SLICE = 8;    // vec4s of the row each invocation holds
layout(local_size_x_id = 0) in;
const uint BR = NT / SPLIT;
const uint DP = SPLIT * SLICE;
const uint PS = BC + 1;                          // partials row stride (no bank conflicts)

// x[SLICE] = this invocation's columns of row `base` (columns base ..< base+D), 0 where absent.
#define LOAD_SLICE(x, r, base, D, live) \
    [[unroll]] for (uint i_ = 0; i_ < SLICE; i_++) { \
        x[i_] = vec4(0.0); \
        uint d_ = 4u * (part + i_ * SPLIT); \
        [[unroll]] for (uint c_ = 0; c_ < 4u; c_++) if ((live) && d_ + c_ < (D)) x[i_][c_] = F(r, (base) + d_ + c_); \
    }
// row_j of a shared tile · x, over this invocation's slice.
#define DOT_SLICE(acc, x, tile, j) \
    acc = 0.0; \
    [[unroll]] for (uint i_ = 0; i_ < SLICE; i_++) acc += dot(x[i_], tile[(j) * DP + part + i_ * SPLIT]);
// y += a · row_j of a shared tile, over this invocation's slice.
#define AXPY_SLICE(y, a, tile, j) \
    [[unroll]] for (uint i_ = 0; i_ < SLICE; i_++) y[i_] += (a) * tile[(j) * DP + part + i_ * SPLIT];
// Stores this invocation's slice, y · s, into row `base` (accumulating when `add`).
#define STORE_SLICE(r, base, D, y, s, add) \
    [[unroll]] for (uint i_ = 0; i_ < SLICE; i_++) { \
        uint d_ = 4u * (part + i_ * SPLIT); \
        [[unroll]] for (uint c_ = 0; c_ < 4u; c_++) if (d_ + c_ < (D)) { \
            if (add) ACCUMULATE(r, (base) + d_ + c_, (s) * y[i_][c_]); else STORE(r, (base) + d_ + c_, (s) * y[i_][c_]); } \
    }
// tile[jj·DP + d/4][d%4] = element d of row j0 + jj (rows at base + j·stride), 0 past D or `limit`.
#define STAGE(tile, n, r, base, stride, j0, limit, D) \
    for (uint e_ = gl_LocalInvocationID.x; e_ < (n) * DP * 4u; e_ += NT) { \
        uint jj_ = e_ / (DP * 4u), d_ = e_ % (DP * 4u), j_ = (j0) + jj_; \
        float v_ = 0.0; \
        if (d_ < (D) && j_ < (limit)) v_ = F(r, (base) + j_ * (stride) + d_); \
        tile[jj_ * DP + d_ / 4u][d_ % 4u] = v_; \
    }
// Σ over the SPLIT parts of `row`'s partial for column jj (every part reads the same order).
#define REDUCE(out, partials, jj) \
    out = 0.0; \
    [[unroll]] for (uint t_ = 0; t_ < SPLIT; t_++) out += partials[(row * SPLIT + t_) * PS + (jj)];

// The key window of query t, clamped to 0...T; rows past T are empty.
ivec2 window(uvec2 ks, uvec2 ke, uint t, uint T) {
    if (t >= T) return ivec2(0);
    return ivec2(clamp(I(ks, t), 0, int(T)), clamp(I(ke, t), 0, int(T)));
}
