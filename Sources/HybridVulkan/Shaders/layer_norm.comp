#version 450
#extension GL_GOOGLE_include_directive : require
#include "elementwise.glsl"
// LayerNorm over channels (LayerNorm.swift), one invocation per row (rows are short: no
// barriers, no shared memory, the same sums on every device); legend N rows, C channels.
//   forward (backward = 0):  mean = Σ x / C,  rstd = 1 / sqrt(Σ (x − mean)² / C + eps)
//                            out = (x − mean) · rstd · w + b;  saves mean[N], rstd[N]
//   backward (backward = 1): g = dout · w
//                            dx += rstd · (g − mean_c(g) − xhat · mean_c(g · xhat))
// (dw and db reduce over rows: layer_norm_parameters.comp.)
layout(push_constant) uniform Push { uvec2 o, mean, rstd, x, w, b, dout; uint N, C, backward; float eps; } p;
void main() {
    uint row = INDEX;
    if (row >= p.N) return;
    uint base = row * p.C;
    float C = float(p.C);
    if (p.backward == 0u) {
        float s = 0.0;
        for (uint c = 0; c < p.C; c++) s += F(p.x, base + c);
        float m = s / C;
        float v = 0.0;
        for (uint c = 0; c < p.C; c++) { float d = F(p.x, base + c) - m; v += d * d; }
        float r = 1.0 / sqrt(v / C + p.eps);
        F(p.mean, row) = m;
        F(p.rstd, row) = r;
        for (uint c = 0; c < p.C; c++) F(p.o, base + c) = (F(p.x, base + c) - m) * r * F(p.w, c) + F(p.b, c);
    } else {
        float m = F(p.mean, row), r = F(p.rstd, row);
        float sg = 0.0, sgx = 0.0;
        for (uint c = 0; c < p.C; c++) {
            float gw = F(p.dout, base + c) * F(p.w, c);
            sg += gw;
            sgx += gw * ((F(p.x, base + c) - m) * r);
        }
        float meanG = sg / C, meanGX = sgx / C;
        for (uint c = 0; c < p.C; c++) {
            float xhat = (F(p.x, base + c) - m) * r;
            F(p.o, base + c) += r * (F(p.dout, base + c) * F(p.w, c) - meanG - xhat * meanGX);
        }
    }
}
