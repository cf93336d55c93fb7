#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
// C[M,N] = alpha · op(A)·op(B) + beta · C (+ bias[N] on every row), as matmul.comp, for products
// with many 128×128 tiles (VulkanExecutable.matmul picks it); leading dimensions as BLAS
// (row-major): A(i,k) = transA ? A[k·lda + i] : A[i·lda + k], B(k,j) = transB ? B[j·ldb + k] : B[k·ldb + j].
// transA, transB are specialization constants 0 and 1, so the index math folds.
//
// Tiling: a workgroup of 16×16 invocations computes a 128×128 tile of C, 8×8 per invocation as
// two 4×4 quadrants strided by 64 in each direction: invocation (tx, ty) owns rows
// ty·4 + {0..3} + {0, 64} and columns tx·4 + {0..3} + {0, 64}, so each shared-memory read is a
// vec4 and the 16 distinct vec4 of a row of invocations hit distinct banks. K is stepped by
// BK = 8: the operand tiles op(A)[128,BK] and op(B)[BK,128] are held transposed, As[k][i] and
// Bs[k][j], in two shared buffers (ping-pong); the next step's tile is fetched into registers
// while the current one is multiplied and stored after it, so one barrier per step suffices.
// Each row of As/Bs is padded by one vec4 (33 · 4 floats) so the strided stores of a k-contiguous
// operand do not collide in a bank. Edges: out-of-range loads read 0, stores are masked.
//
// Global loads, element e = lid + 256·q (q < 4) of a tile's 1024: an operand stored with the
// tile's long side contiguous (A with transA, B without transB) maps e to (r = e % 128,
// k = e / 128), a warp reading 128 contiguous bytes; one stored k-contiguous (A without transA,
// B with transB) maps e to (r = e / 8, k = e % 8), a warp reading four rows' 32-byte sectors.
layout(constant_id = 0) const uint TRANS_A = 0;
layout(constant_id = 1) const uint TRANS_B = 0;
layout(local_size_x = 16, local_size_y = 16) in;
layout(push_constant) uniform Push { uvec2 a, b, c, bias; uint M, N, K, lda, ldb, ldc, hasBias; float alpha, beta; } p;
const uint TILE = 128;
const uint BK = 8;
const uint ROW = TILE / 4 + 1;    // vec4 per shared row: 128 floats and one vec4 of padding
shared vec4 As[2][BK][ROW];
shared vec4 Bs[2][BK][ROW];

const bool A_LONG = TRANS_A != 0u;    // A(i,k) at k·lda + i: contiguous along the tile's 128 rows
const bool B_LONG = TRANS_B == 0u;    // B(k,j) at k·ldb + j: contiguous along the tile's 128 columns

// Tile coordinates (r < 128, k < BK) of a tile's element e.
uvec2 tileCoordinates(bool wide, uint e) {
    return wide ? uvec2(e % TILE, e / TILE) : uvec2(e / BK, e % BK);
}

float loadA(uint i, uint k) {
    if (i >= p.M || k >= p.K) return 0.0;
    return A_LONG ? F(p.a, k * p.lda + i) : F(p.a, i * p.lda + k);
}
float loadB(uint k, uint j) {
    if (k >= p.K || j >= p.N) return 0.0;
    return B_LONG ? F(p.b, k * p.ldb + j) : F(p.b, j * p.ldb + k);
}

void main() {
    uint tilesN = (p.N + TILE - 1) / TILE;
    uint tile = GROUP;
    if (tile >= tilesN * ((p.M + TILE - 1) / TILE)) return;
    uint row0 = (tile / tilesN) * TILE, col0 = (tile % tilesN) * TILE;
    uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y, lid = ty * 16 + tx;

    // Each invocation's four elements of each operand tile, fetched for step k0.
    float ra[4], rb[4];
    uvec2 ca[4], cb[4];
    [[unroll]] for (uint q = 0; q < 4; q++) {
        ca[q] = tileCoordinates(A_LONG, lid + 256 * q);
        cb[q] = tileCoordinates(B_LONG, lid + 256 * q);
    }
    [[unroll]] for (uint q = 0; q < 4; q++) {
        ra[q] = loadA(row0 + ca[q].x, ca[q].y);
        rb[q] = loadB(cb[q].y, col0 + cb[q].x);
    }
    [[unroll]] for (uint q = 0; q < 4; q++) {
        As[0][ca[q].y][ca[q].x >> 2][ca[q].x & 3u] = ra[q];
        Bs[0][cb[q].y][cb[q].x >> 2][cb[q].x & 3u] = rb[q];
    }
    barrier();

    vec4 acc[16];    // acc[2·r + h]: row ty·4 + r%4 + 64·(r/4), columns tx·4 + 64·h + {0..3}
    [[unroll]] for (uint x = 0; x < 16; x++) acc[x] = vec4(0.0);
    uint steps = (p.K + BK - 1) / BK;
    for (uint t = 0; t < steps; t++) {
        uint cur = t & 1u;
        bool more = t + 1 < steps;
        if (more) {
            uint k0 = (t + 1) * BK;
            [[unroll]] for (uint q = 0; q < 4; q++) {
                ra[q] = loadA(row0 + ca[q].x, k0 + ca[q].y);
                rb[q] = loadB(k0 + cb[q].y, col0 + cb[q].x);
            }
        }
        [[unroll]] for (uint kk = 0; kk < BK; kk++) {
            vec4 a0 = As[cur][kk][ty], a1 = As[cur][kk][ty + 16];
            vec4 b0 = Bs[cur][kk][tx], b1 = Bs[cur][kk][tx + 16];
            [[unroll]] for (uint r = 0; r < 4; r++) {
                acc[2 * r] += a0[r] * b0;
                acc[2 * r + 1] += a0[r] * b1;
                acc[2 * r + 8] += a1[r] * b0;
                acc[2 * r + 9] += a1[r] * b1;
            }
        }
        if (more) {
            [[unroll]] for (uint q = 0; q < 4; q++) {
                As[cur ^ 1u][ca[q].y][ca[q].x >> 2][ca[q].x & 3u] = ra[q];
                Bs[cur ^ 1u][cb[q].y][cb[q].x >> 2][cb[q].x & 3u] = rb[q];
            }
        }
        barrier();
    }

    [[unroll]] for (uint r = 0; r < 8; r++) {
        uint i = row0 + ty * 4 + (r & 3u) + (r >> 2) * 64;
        if (i >= p.M) continue;
        [[unroll]] for (uint h = 0; h < 2; h++) {
            [[unroll]] for (uint q = 0; q < 4; q++) {
                uint j = col0 + h * 64 + tx * 4 + q;
                if (j >= p.N) continue;
                float v = p.alpha * acc[2 * r + h][q];
                if (p.beta != 0.0) v += p.beta * F(p.c, i * p.ldc + j);
                if (p.hasBias != 0u) v += F(p.bias, j);
                STORE(p.c, i * p.ldc + j, v);
            }
        }
    }
}
