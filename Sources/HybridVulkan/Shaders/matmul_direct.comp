#version 450
#extension GL_GOOGLE_include_directive : require
#include "elementwise.glsl"
// The same product as matmul.comp without shared memory or barriers, for CPU-type devices
// (lavapipe runs a workgroup on one thread and splits it at every barrier, so the tiled
// kernel's staging costs more than it saves there): one invocation per 4×4 block of C, its
// operands read straight from memory, consecutive invocations on consecutive column blocks.
layout(push_constant) uniform Push { uvec2 a, b, c, bias; uint M, N, K, lda, ldb, ldc, transA, transB, hasBias; float alpha, beta; } p;
void main() {
    uint blocksN = (p.N + 3u) / 4u;
    uint block = INDEX;
    if (block >= blocksN * ((p.M + 3u) / 4u)) return;
    uint i0 = (block / blocksN) * 4u, j0 = (block % blocksN) * 4u;
    // acc[c] is column j0 + c of the block (rows i0..i0+3); no arrays indexed by a loop
    // variable, which a compiler may leave in memory.
    mat4 acc = mat4(0.0);
    // Clamp reads at the edges (the writes are masked) so the loop has no branches.
    uint M1 = p.M - 1u, N1 = p.N - 1u;
    uvec4 ia = min(uvec4(i0, i0 + 1u, i0 + 2u, i0 + 3u), uvec4(M1)), jb = min(uvec4(j0, j0 + 1u, j0 + 2u, j0 + 3u), uvec4(N1));
    uint sa = p.transA != 0u ? p.lda : 1u, ka = p.transA != 0u ? 1u : p.lda;   // A(i,k) = a[i·ka + k·sa]
    uint sb = p.transB != 0u ? 1u : p.ldb, kb = p.transB != 0u ? p.ldb : 1u;   // B(k,j) = b[k·sb + j·kb]
    uvec4 ra = ia * ka, cb = jb * kb;
    for (uint k = 0; k < p.K; k++) {
        uint ak = k * sa, bk = k * sb;
        vec4 av = vec4(F(p.a, ra.x + ak), F(p.a, ra.y + ak), F(p.a, ra.z + ak), F(p.a, ra.w + ak));
        vec4 bv = vec4(F(p.b, bk + cb.x), F(p.b, bk + cb.y), F(p.b, bk + cb.z), F(p.b, bk + cb.w));
        acc += outerProduct(av, bv);
    }
    for (uint r = 0; r < 4u; r++) {
        uint i = i0 + r;
        if (i >= p.M) break;
        for (uint c = 0; c < 4u; c++) {
            uint j = j0 + c;
            if (j >= p.N) break;
            float v = p.alpha * acc[c][r];
            if (p.beta != 0.0) v += p.beta * F(p.c, i * p.ldc + j);
            if (p.hasBias != 0u) v += F(p.bias, j);
            STORE(p.c, i * p.ldc + j, v);
        }
    }
}
