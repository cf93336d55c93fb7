import Foundation

/// Learning rate per step: linear warmup, then cosine decay to `minRatio`·peak at the last
/// step (or constant after warmup).
public struct LearningRateSchedule: Sendable, Equatable {
    public enum Shape: Sendable, Equatable { case cosine, constant }

    public var peak: Double
    public var warmupSteps: Int
    public var minRatio: Double
    public var totalSteps: Int
    public var shape: Shape

    public init(peak: Double, warmupSteps: Int, minRatio: Double, totalSteps: Int, shape: Shape) {
        self.peak = peak
        self.warmupSteps = warmupSteps
        self.minRatio = minRatio
        self.totalSteps = totalSteps
        self.shape = shape
    }

    /// The rate for 0-based `step`.
    public func callAsFunction(_ step: Int) -> Double {
        if step < warmupSteps { return peak * Double(step + 1) / Double(warmupSteps) }
        guard shape == .cosine else { return peak }
        let progress = Double(step - warmupSteps) / Double(max(1, totalSteps - warmupSteps))
        let floor = peak * minRatio
        return floor + (peak - floor) * 0.5 * (1 + cos(Double.pi * min(1, progress)))
    }
}
