/// A graph that cannot be built: a shape mismatch, a parameter redeclared with another
/// shape, a tensor used where it cannot be.
public struct GraphError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
