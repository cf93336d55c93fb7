/// One 32-bit scalar of a dispatch's push constants, as its shader's `Push` block declares it
/// (a literal 0 or 1 is a uint flag, a literal 1.0 a float).
enum PushScalar: ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral {
    case uint(UInt32)
    case float(Float)

    init(integerLiteral value: UInt32) { self = .uint(value) }
    init(floatLiteral value: Float) { self = .float(value) }

    /// A size or index, checked to fit 32 bits.
    static func size(_ n: Int) throws -> PushScalar { .uint(try word(n)) }

    var bits: UInt32 {
        switch self {
        case .uint(let u): u
        case .float(let f): f.bitPattern
        }
    }
}

/// A kernel's push constants, read from the `Push { … }` block of its shader
/// (Generated/SPIRV.swift holds each block as glslc saw it): the operands first, each a
/// uvec2 (buffer index, element offset), then 32-bit uint and float scalars. Every dispatch
/// is checked against it, so an operand or scalar too many or too few, or a float where the
/// shader reads a uint, is an error naming the kernel and the field, not a silent misread.
struct PushLayout: Equatable {
    struct Scalar: Equatable {
        var name: String
        var isFloat: Bool
    }

    var operands: [String] = []
    var scalars: [Scalar] = []

    /// Parses declarations such as `uvec2 o, a, b; uint n; float s;`.
    init(block: String) throws {
        for declaration in block.split(separator: ";") {
            let words = declaration.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\n" }).map(String.init)
            guard let type = words.first else { continue }
            let names = words.dropFirst()
            switch type {
            case "uvec2":
                guard scalars.isEmpty else { throw VulkanError("push block \(block): operands (uvec2) must come before the scalars") }
                operands += names
            case "uint", "float":
                scalars += names.map { Scalar(name: $0, isFloat: type == "float") }
            default:
                throw VulkanError("push block \(block): \(type) is not a push-constant type hybrid dispatches (uvec2, uint, float)")
            }
        }
        guard bytes <= PipelineLayouts.pushConstantBytes else {
            throw VulkanError("push block \(block): \(bytes) bytes, over the \(PipelineLayouts.pushConstantBytes) every device offers")
        }
    }

    var bytes: Int { (operands.count * 2 + scalars.count) * 4 }

    /// The push words of one dispatch of `kernel`, in the block's order.
    func words(_ kernel: Kernel, _ operands: [Operand], _ scalars: [PushScalar]) throws -> [UInt32] {
        guard operands.count == self.operands.count, scalars.count == self.scalars.count else {
            throw VulkanError("\(kernel): given \(operands.count) operands and \(scalars.count) scalars; its shader declares "
                + "\(self.operands.count) (\(self.operands.joined(separator: ", "))) and \(self.scalars.count) (\(self.scalars.map(\.name).joined(separator: ", ")))")
        }
        for (given, declared) in zip(scalars, self.scalars) {
            if case .float = given, !declared.isFloat { throw VulkanError("\(kernel): push constant \(declared.name) is a uint in its shader; given a float") }
            if case .uint = given, declared.isFloat { throw VulkanError("\(kernel): push constant \(declared.name) is a float in its shader; given a uint") }
        }
        return operands.flatMap { [$0.buffer, $0.offset] } + scalars.map(\.bits)
    }
}

extension Kernel {
    /// Every kernel's push layout, parsed once.
    private static let pushLayouts: [Kernel: PushLayout] = Dictionary(uniqueKeysWithValues: allCases.map { kernel in
        guard let block = pushBlocks[kernel.rawValue], let layout = try? PushLayout(block: block) else {
            preconditionFailure("Generated/SPIRV.swift lacks a readable push block for \(kernel): run scripts/compile-shaders")
        }
        return (kernel, layout)
    })

    var pushLayout: PushLayout { Self.pushLayouts[self]! }
}
