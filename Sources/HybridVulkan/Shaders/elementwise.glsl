// One invocation per element: WG invocations per group (specialization constant 0).
#include "common.glsl"
layout(constant_id = 0) const uint WG = 256;
layout(local_size_x_id = 0) in;
#define INDEX (GROUP * WG + gl_LocalInvocationID.x)
