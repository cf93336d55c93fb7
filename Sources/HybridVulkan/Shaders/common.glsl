// Shared by every kernel.
//
// Buffers: binding 0 is an array of storage buffers, one per slot (arena, parameter values,
// gradients, the two AdamW moments, inputs, aux; see Pipelines.swift). A tensor is named by
// one 32-bit operand: slot << 29 | element offset. F(r, i) is element i of float tensor r,
// I(r, i) of an int32 tensor. The slot comes from push constants, so the index into the
// buffer array is dynamically uniform (shaderStorageBufferArrayDynamicIndexing).
//
// Workgroups: a dispatch spreads its groups over x and y (at most 65535 each); GROUP is the
// flat group index, and kernels skip groups and invocations past their work.

layout(std430, set = 0, binding = 0) buffer FloatBuffers { float v[]; } fbuf[7];
layout(std430, set = 0, binding = 0) buffer IntBuffers { int v[]; } ibuf[7];

#define SLOT(r) ((r) >> 29)
#define OFFSET(r) ((r) & 0x1FFFFFFFu)
#define F(r, i) fbuf[SLOT(r)].v[OFFSET(r) + (i)]
#define I(r, i) ibuf[SLOT(r)].v[OFFSET(r) + (i)]

#define GROUP (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x)

