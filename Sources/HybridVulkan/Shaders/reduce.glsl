// Workgroup reductions through shared memory: a fixed-shape tree over WG (a power of two)
// slots, so results do not depend on the subgroup size. Every invocation must call them.
#include "common.glsl"
layout(constant_id = 0) const uint WG = 64;
layout(local_size_x_id = 0) in;
shared float partial[WG];

float workgroupSum(float value) {
    uint lid = gl_LocalInvocationID.x;
    partial[lid] = value;
    barrier();
    for (uint s = WG / 2; s > 0; s >>= 1) {
        if (lid < s) partial[lid] += partial[lid + s];
        barrier();
    }
    float result = partial[0];
    barrier();
    return result;
}

float workgroupMax(float value) {
    uint lid = gl_LocalInvocationID.x;
    partial[lid] = value;
    barrier();
    for (uint s = WG / 2; s > 0; s >>= 1) {
        if (lid < s) partial[lid] = max(partial[lid], partial[lid + s]);
        barrier();
    }
    float result = partial[0];
    barrier();
    return result;
}
