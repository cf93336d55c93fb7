import Foundation
@testable import HybridVulkan
import Testing

/// Push constants are typed by the shaders themselves: each kernel's layout is read from its
/// `Push { … }` block, and a dispatch that does not match it is refused by name.
@Suite struct PushLayoutTests {
    @Test func everyKernelHasALayoutThatFitsAndMatchesItsShaderFile() throws {
        let shaders = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Sources/HybridVulkan/Shaders").standardizedFileURL
        for kernel in Kernel.allCases {
            let layout = kernel.pushLayout
            #expect(layout.bytes <= PipelineLayouts.pushConstantBytes, "\(kernel)")
            #expect(!layout.operands.isEmpty, "\(kernel)")
            // Where the .comp declares the block itself (not through an include), its text
            // reads as the same layout as the generated one.
            let source = try String(contentsOf: shaders.appendingPathComponent(kernel.rawValue + ".comp"), encoding: .utf8)
            if let start = source.range(of: "uniform Push {"), let end = source[start.upperBound...].firstIndex(of: "}") {
                #expect(try PushLayout(block: String(source[start.upperBound..<end])) == layout, "\(kernel)")
            }
        }
        let matmul = Kernel.matmul_large.pushLayout
        #expect(matmul.operands == ["a", "b", "c", "bias"])
        #expect(matmul.scalars.map(\.name) == ["M", "N", "K", "lda", "ldb", "ldc", "hasBias", "alpha", "beta"])
        #expect(matmul.scalars.map(\.isFloat) == [false, false, false, false, false, false, false, true, true])
    }

    @Test func aDispatchMustMatchItsShadersBlock() throws {
        let o = Operand(buffer: 1, offset: 7)
        #expect(try Kernel.scale.pushLayout.words(.scale, [o, o], [5, .float(0.5)]) == [1, 7, 1, 7, 5, Float(0.5).bitPattern])
        #expect(throws: VulkanError.self) { try Kernel.scale.pushLayout.words(.scale, [o], [5, .float(0.5)]) }
        #expect(throws: VulkanError.self) { try Kernel.scale.pushLayout.words(.scale, [o, o], [5]) }
        do {
            _ = try Kernel.scale.pushLayout.words(.scale, [o, o], [5, 2])
            Issue.record("a uint where the shader reads a float was accepted")
        } catch {
            #expect("\(error)".contains("scale: push constant s is a float in its shader; given a uint"), "\(error)")
        }
        do {
            _ = try Kernel.add.pushLayout.words(.add, [o, o, o], [.float(1)])
            Issue.record("a float where the shader reads a uint was accepted")
        } catch {
            #expect("\(error)".contains("add: push constant n is a uint in its shader; given a float"), "\(error)")
        }
    }

    @Test func blocksHybridCannotDispatchAreRefused() {
        #expect(throws: VulkanError.self) { try PushLayout(block: "uint n; uvec2 o;") }
        #expect(throws: VulkanError.self) { try PushLayout(block: "uvec2 o; vec4 v;") }
        #expect(throws: VulkanError.self) { try PushLayout(block: "uvec2 a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q;") }
    }
}
