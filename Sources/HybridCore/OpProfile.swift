/// Wall time per op kind, collected by an executable when one is attached (`hybrid bench
/// train --profile`). Off by default: the run loops then pay one nil check per node.
public final class OpProfile {
    public private(set) var entries: [String: (seconds: Double, calls: Int)] = [:]

    public init() {}

    public func record(_ name: String, _ elapsed: Duration) {
        let c = elapsed.components
        let seconds = Double(c.seconds) + Double(c.attoseconds) * 1e-18
        entries[name, default: (0, 0)].seconds += seconds
        entries[name, default: (0, 0)].calls += 1
    }

    public func reset() { entries = [:] }
}
