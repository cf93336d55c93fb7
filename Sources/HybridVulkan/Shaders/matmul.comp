#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
// C[M,N] = alpha · op(A)·op(B) + beta · C (+ bias[N] on every row), op a transpose by flag,
// leading dimensions as BLAS (row-major): A(i,k) = transA ? A[k·lda + i] : A[i·lda + k].
// Linear uses it three ways: out = x·wᵀ + b; dx += dout·w; dw += doutᵀ·x.
//
// Tiling: a workgroup of TS×TS invocations (specialization constant 0) computes a tile of
// (TS·WPT)² outputs, WPT×WPT per invocation, stepping through K by TK with both operand
// tiles staged in shared memory.
layout(constant_id = 0) const uint TS = 16;
layout(local_size_x_id = 0, local_size_y_id = 0) in;
const uint WPT = 4;
const uint TK = 16;
layout(push_constant) uniform Push { uvec2 a, b, c, bias; uint M, N, K, lda, ldb, ldc, transA, transB, hasBias; float alpha, beta; } p;
shared float As[TK][TS * WPT];
shared float Bs[TK][TS * WPT];

float loadA(uint i, uint k) {
    if (i >= p.M || k >= p.K) return 0.0;
    return p.transA != 0u ? F(p.a, k * p.lda + i) : F(p.a, i * p.lda + k);
}
float loadB(uint k, uint j) {
    if (k >= p.K || j >= p.N) return 0.0;
    return p.transB != 0u ? F(p.b, j * p.ldb + k) : F(p.b, k * p.ldb + j);
}

void main() {
    const uint TILE = TS * WPT;
    uint tilesN = (p.N + TILE - 1) / TILE;
    uint tile = GROUP;
    if (tile >= tilesN * ((p.M + TILE - 1) / TILE)) return;
    uint row0 = (tile / tilesN) * TILE, col0 = (tile % tilesN) * TILE;
    uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y, lid = ty * TS + tx;
    float acc[WPT][WPT];
    for (uint r = 0; r < WPT; r++) for (uint c = 0; c < WPT; c++) acc[r][c] = 0.0;
    for (uint k0 = 0; k0 < p.K; k0 += TK) {
        for (uint e = lid; e < TK * TILE; e += TS * TS) {
            uint kk = e / TILE, ii = e % TILE;
            As[kk][ii] = loadA(row0 + ii, k0 + kk);
            Bs[kk][ii] = loadB(k0 + kk, col0 + ii);
        }
        barrier();
        for (uint kk = 0; kk < TK; kk++) {
            float av[WPT], bv[WPT];
            for (uint r = 0; r < WPT; r++) av[r] = As[kk][ty + r * TS];
            for (uint c = 0; c < WPT; c++) bv[c] = Bs[kk][tx + c * TS];
            for (uint r = 0; r < WPT; r++) for (uint c = 0; c < WPT; c++) acc[r][c] += av[r] * bv[c];
        }
        barrier();
    }
    for (uint r = 0; r < WPT; r++) {
        uint i = row0 + ty + r * TS;
        if (i >= p.M) continue;
        for (uint c = 0; c < WPT; c++) {
            uint j = col0 + tx + c * TS;
            if (j >= p.N) continue;
            float v = p.alpha * acc[r][c];
            if (p.beta != 0.0) v += p.beta * F(p.c, i * p.ldc + j);
            if (p.hasBias != 0u) v += F(p.bias, j);
            STORE(p.c, i * p.ldc + j, v);
        }
    }
}
