#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
// Embedding backward (Embedding.swift), legend N rows, C channels, K buckets, WG channels per
// workgroup (specialization constant 0):   dtable[ids[i], c] += dout[i, c]
// Deterministic without atomics: table row v belongs to bucket v % K, and workgroup
// (bucket k, channel block) is the only writer of its bucket's rows, for WG channels (one per
// invocation). It walks the ids in chunks of WG rows: each invocation tests one row's id, a
// fixed-shape prefix sum over the chunk's flags (integers, so exact) lists the bucket's rows in
// row order, and every invocation adds those rows of dout into its channel in that order — the
// order of a sequential loop over rows, whatever the subgroup size or K. A run of rows with one
// id is summed in a register and added to the table once.
layout(constant_id = 0) const uint WG = 256;
layout(local_size_x_id = 0) in;
layout(push_constant) uniform Push { uvec2 dtable, ids, dout; uint N, C, K; } p;
shared uint scan[2][WG];
shared uint listRow[WG];
shared uint listId[WG];

void main() {
    uint lid = gl_LocalInvocationID.x;
    uint blocks = (p.C + WG - 1) / WG;
    uint bucket = GROUP / blocks, c = (GROUP % blocks) * WG + lid;
    if (bucket >= p.K) return;
    bool inRange = c < p.C;
    const uint NONE = 0xFFFFFFFFu;
    uint current = NONE;
    float run = 0.0;
    for (uint r0 = 0; r0 < p.N; r0 += WG) {
        uint row = r0 + lid;
        uint id = row < p.N ? uint(I(p.ids, row)) : 0u;
        uint flag = row < p.N && id % p.K == bucket ? 1u : 0u;
        // Inclusive prefix sum of the flags (Hillis–Steele, ping-pong: one barrier a step).
        uint src = 0;
        scan[0][lid] = flag;
        barrier();
        for (uint s = 1; s < WG; s <<= 1) {
            scan[src ^ 1u][lid] = scan[src][lid] + (lid >= s ? scan[src][lid - s] : 0u);
            src ^= 1u;
            barrier();
        }
        uint count = scan[src][WG - 1];
        if (flag != 0u) {
            listRow[scan[src][lid] - 1u] = row;
            listId[scan[src][lid] - 1u] = id;
        }
        barrier();
        if (inRange) {
            for (uint j = 0; j < count; j++) {
                uint v = listId[j];
                if (v != current) {
                    if (current != NONE) ACCUMULATE(p.dtable, current * p.C + c, run);
                    current = v;
                    run = 0.0;
                }
                run += F(p.dout, listRow[j] * p.C + c);
            }
        }
        barrier();
    }
    if (inRange && current != NONE) ACCUMULATE(p.dtable, current * p.C + c, run);
}
