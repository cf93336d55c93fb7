#version 450
#extension GL_GOOGLE_include_directive : require
#include "elementwise.glsl"
// The same product as matmul.comp without shared memory or barriers, for CPU-type devices
// (lavapipe runs a workgroup on one thread and splits it at every barrier, so the tiled
// kernel's staging costs more than it saves there): one invocation per 4×4 block of C,
// its operands read straight from memory, consecutive invocations on consecutive columns.
layout(push_constant) uniform Push { uint a, b, c, bias, M, N, K, lda, ldb, ldc, transA, transB, hasBias; float alpha, beta; } p;
void main() {
    uint blocksN = (p.N + 3u) / 4u;
    uint block = INDEX;
    if (block >= blocksN * ((p.M + 3u) / 4u)) return;
    uint i0 = (block / blocksN) * 4u, j0 = (block % blocksN) * 4u;
    // Clamp reads at the edges (the writes are masked) so the inner loop has no branches.
    uint ia[4], jb[4];
    for (uint r = 0; r < 4u; r++) { ia[r] = min(i0 + r, p.M - 1u); jb[r] = min(j0 + r, p.N - 1u); }
    uint sa = p.transA != 0u ? p.lda : 1u, ka = p.transA != 0u ? 1u : p.lda;   // A(i,k) = a[i·ka + k·sa]
    uint sb = p.transB != 0u ? 1u : p.ldb, kb = p.transB != 0u ? p.ldb : 1u;   // B(k,j) = b[k·sb + j·kb]
    float acc[4][4];
    for (uint r = 0; r < 4u; r++) for (uint c = 0; c < 4u; c++) acc[r][c] = 0.0;
    for (uint k = 0; k < p.K; k++) {
        float av[4], bv[4];
        for (uint r = 0; r < 4u; r++) av[r] = F(p.a, ia[r] * ka + k * sa);
        for (uint c = 0; c < 4u; c++) bv[c] = F(p.b, k * sb + jb[c] * kb);
        for (uint r = 0; r < 4u; r++) for (uint c = 0; c < 4u; c++) acc[r][c] += av[r] * bv[c];
    }
    for (uint r = 0; r < 4u; r++) {
        uint i = i0 + r;
        if (i >= p.M) break;
        for (uint c = 0; c < 4u; c++) {
            uint j = j0 + c;
            if (j >= p.N) break;
            float v = p.alpha * acc[r][c];
            if (p.beta != 0.0) v += p.beta * F(p.c, i * p.ldc + j);
            if (p.hasBias != 0u) v += F(p.bias, j);
            F(p.c, i * p.ldc + j) = v;
        }
    }
}
