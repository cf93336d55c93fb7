// Shared by every kernel.
//
// Buffers: binding 0 is an array of BUFFERS storage buffers (Pipelines.swift): the chunks of
// the activation arena, of the four parameter buffers, the inputs and aux, each at most the
// device's storage-buffer range, so no tensor is limited by one buffer (VulkanStore.swift). A
// tensor is named by one operand, a uvec2 (buffer index, element offset in that buffer), in
// the push constants, before every scalar (8-byte aligned). F(r, i) is element i of float
// tensor r, I(r, i) of an int32 tensor. The buffer index comes from push constants, so it is
// dynamically uniform (shaderStorageBufferArrayDynamicIndexing). Offsets and indices are
// 32-bit: a buffer holds at most 2^30 floats (4 GiB), which the host checks.

#define BUFFERS 32
layout(std430, set = 0, binding = 0) buffer FloatBuffers { float v[]; } fbuf[BUFFERS];
layout(std430, set = 0, binding = 0) buffer IntBuffers { int v[]; } ibuf[BUFFERS];

#define I(r, i) ibuf[(r).x].v[(r).y + (i)]

// Every store is STORE(r, i, x) or ACCUMULATE(r, i, x) (F(r, i) + x), so one source serves
// both precisions. Compiled with MIXED (`precision: mixed`; the `_mixed` SPIR-V of each
// kernel), an operand whose buffer index has bit 31 set holds bfloat16 (the top half of a
// float's bits, its offset counted in 16-bit elements): it is widened to float on load and
// rounded to nearest even on store, so every kernel computes and accumulates in fp32 whatever
// its operands hold. bfloat16 keeps fp32's exponent range, so gradients need no loss scaling.
#ifdef MIXED
#extension GL_EXT_shader_16bit_storage : require
layout(std430, set = 0, binding = 0) buffer HalfBuffers { uint16_t v[]; } hbuf[BUFFERS];
#define HALF 0x80000000u
float loadF(uvec2 r, uint i) {
    if ((r.x & HALF) != 0u) return uintBitsToFloat(uint(hbuf[r.x & ~HALF].v[r.y + i]) << 16);
    return fbuf[r.x].v[r.y + i];
}
void storeF(uvec2 r, uint i, float x) {
    if ((r.x & HALF) == 0u) { fbuf[r.x].v[r.y + i] = x; return; }
    uint b = floatBitsToUint(x);
    b = isnan(x) ? 0x7FC00000u : b + 0x7FFFu + ((b >> 16) & 1u);
    hbuf[r.x & ~HALF].v[r.y + i] = uint16_t(b >> 16);
}
#define F(r, i) loadF(r, uint(i))
#define STORE(r, i, x) storeF(r, uint(i), (x))
#else
#define F(r, i) fbuf[(r).x].v[(r).y + (i)]
#define STORE(r, i, x) (F(r, i) = (x))
#endif
#define ACCUMULATE(r, i, x) STORE(r, i, F(r, i) + (x))

#define GROUP (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x)

