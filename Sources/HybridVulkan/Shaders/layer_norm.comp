#version 450
#extension GL_GOOGLE_include_directive : require
#include "reduce.glsl"
// LayerNorm over channels (LayerNorm.swift), one workgroup of WG invocations per row (WG a
// power of two, specialization constant 0, chosen from C); legend N rows, C channels.
// Invocation l sums channels l, l + WG, … in order, then reduce.glsl's fixed tree adds the
// WG partial sums, so the result does not depend on the subgroup size.
//   forward (backward = 0):  mean = Σ x / C,  rstd = 1 / sqrt(Σ (x − mean)² / C + eps)
//                            out = (x − mean) · rstd · w + b;  saves mean[N], rstd[N]
//   backward (backward = 1): g = dout · w
//                            dx += rstd · (g − mean_c(g) − xhat · mean_c(g · xhat))
// (dw and db reduce over rows: layer_norm_parameters.comp.)
layout(push_constant) uniform Push { uvec2 o, mean, rstd, x, w, b, dout; uint N, C, backward; float eps; } p;
void main() {
    uint row = GROUP, lid = gl_LocalInvocationID.x;
    if (row >= p.N) return;
    uint base = row * p.C;
    float C = float(p.C);
    if (p.backward == 0u) {
        float s = 0.0;
        for (uint c = lid; c < p.C; c += WG) s += F(p.x, base + c);
        float m = workgroupSum(s) / C;
        float v = 0.0;
        for (uint c = lid; c < p.C; c += WG) { float d = F(p.x, base + c) - m; v += d * d; }
        float r = 1.0 / sqrt(workgroupSum(v) / C + p.eps);
        if (lid == 0u) {
            STORE(p.mean, row, m);
            STORE(p.rstd, row, r);
        }
        for (uint c = lid; c < p.C; c += WG) STORE(p.o, base + c, (F(p.x, base + c) - m) * r * F(p.w, c) + F(p.b, c));
    } else {
        float m = F(p.mean, row), r = F(p.rstd, row);
        float sg = 0.0, sgx = 0.0;
        for (uint c = lid; c < p.C; c += WG) {
            float gw = F(p.dout, base + c) * F(p.w, c);
            sg += gw;
            sgx += gw * ((F(p.x, base + c) - m) * r);
        }
        float meanG = workgroupSum(sg) / C, meanGX = workgroupSum(sgx) / C;
        for (uint c = lid; c < p.C; c += WG) {
            float xhat = (F(p.x, base + c) - m) * r;
            ACCUMULATE(p.o, base + c, r * (F(p.dout, base + c) * F(p.w, c) - meanG - xhat * meanGX));
        }
    }
}
