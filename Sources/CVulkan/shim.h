// Vulkan's types and function-pointer typedefs only, no prototypes and no link: HybridVulkan
// opens the loader (libvulkan.so.1) at run time, so hybrid starts and trains on the CPU on a
// machine without one.
#define VK_NO_PROTOTYPES
#include <vulkan/vulkan.h>
