/// A run that cannot go on: bad data, a plugin failure mid-run, an unwritable output folder.
public struct TrainError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
