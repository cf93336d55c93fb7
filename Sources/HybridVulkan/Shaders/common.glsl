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

#define F(r, i) fbuf[(r).x].v[(r).y + (i)]
#define I(r, i) ibuf[(r).x].v[(r).y + (i)]

#define GROUP (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x)

