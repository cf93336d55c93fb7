import Foundation
import HybridVulkan
import Testing

@Suite struct DeviceTests {
    @Test func theDeviceReportsItsCapabilities() throws {
        let device = try testDevice()
        let line = device.info.capabilityLine
        #expect(line.contains(device.info.name) && line.contains("subgroup \(device.info.subgroupSize)"), "\(line)")
        #expect(device.info.subgroupSize >= 1 && device.info.maxStorageBufferRange > 0)
        // scripts/test runs lavapipe at 128-bit vectors once, and asks for this check.
        if let expected = ProcessInfo.processInfo.environment["HYBRID_EXPECT_SUBGROUP_SIZE"].flatMap(Int.init) {
            #expect(device.info.subgroupSize == expected, "\(line)")
        }
        if ProcessInfo.processInfo.environment["HYBRID_VULKAN_VALIDATION"] == "1" {
            #expect(device.validationEnabled, "HYBRID_VULKAN_VALIDATION=1 but the layer is not active")
        }
    }

    @Test func autoNeverPicksACPUDevice() {
        func info(_ i: Int, _ kind: VulkanDeviceInfo.Kind) -> VulkanDeviceInfo {
            VulkanDeviceInfo(index: i, name: "d\(i)", driver: "x", kind: kind, subgroupSize: 8, sharedMemory: 32768,
                             maxWorkgroupInvocations: 1024, maxStorageBufferRange: 1 << 27, fp16: false)
        }
        let llvmpipe = [info(0, .cpu)]
        #expect(VulkanDeviceChoice.pick(llvmpipe, forced: nil, automatic: true).index == nil)
        #expect(VulkanDeviceChoice.pick(llvmpipe, forced: nil, automatic: false).index == 0)
        #expect(VulkanDeviceChoice.pick(llvmpipe, forced: 0, automatic: true).index == 0)
        let mixed = [info(0, .cpu), info(1, .integrated), info(2, .discrete)]
        #expect(VulkanDeviceChoice.pick(mixed, forced: nil, automatic: true).index == 2)
        #expect(VulkanDeviceChoice.pick(Array(mixed.prefix(2)), forced: nil, automatic: true).index == 1)
        #expect(VulkanDeviceChoice.pick([], forced: nil, automatic: false).index == nil)
        #expect(VulkanDeviceChoice.pick(mixed, forced: 5, automatic: false).index == nil)
    }

    /// Data-parallel ranks on one host with several GPUs take one each, round robin.
    @Test func ranksOnOneHostShareItsGPUs() {
        func info(_ i: Int, _ kind: VulkanDeviceInfo.Kind) -> VulkanDeviceInfo {
            VulkanDeviceInfo(index: i, name: "d\(i)", driver: "x", kind: kind, subgroupSize: 8, sharedMemory: 32768,
                             maxWorkgroupInvocations: 1024, maxStorageBufferRange: 1 << 27, fp16: false)
        }
        let host = [info(0, .cpu), info(1, .discrete), info(2, .integrated), info(3, .discrete)]
        #expect((0..<4).map { VulkanDeviceChoice.pick(host, forced: nil, automatic: true, localRank: $0).index } == [1, 3, 1, 3])
        #expect(VulkanDeviceChoice.pick(host, forced: nil, automatic: true, localRank: 1).reason.contains("discrete device 2 of 2 for local rank 1"))
        #expect(VulkanDeviceChoice.pick(host, forced: 2, automatic: true, localRank: 1).index == 2)
    }
}
