import Foundation

/// Files of the repository's bundled data, for tests of any target.
public enum BundledData {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// The 1,500 8×8 digits (data/digits.csv.gz).
    public static let digits = root.appendingPathComponent("data/digits.csv.gz").path
}
