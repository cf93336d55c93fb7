import Foundation
import HybridTrain
import Testing

@Suite struct LearningRateScheduleTests {
    /// ../shared/bench/ref_train.py's lr_at, transcribed.
    func reference(_ step: Int, total: Int, peak: Double, warmup: Int, minRatio: Double) -> Double {
        if step < warmup { return peak * Double(step + 1) / Double(warmup) }
        let progress = Double(step - warmup) / Double(max(1, total - warmup))
        let floor = peak * minRatio
        return floor + (peak - floor) * 0.5 * (1 + cos(Double.pi * min(1, progress)))
    }

    @Test func matchesTheReferenceSchedule() {
        let s = LearningRateSchedule(peak: 1e-3, warmupSteps: 20, minRatio: 0.1, totalSteps: 300, shape: .cosine)
        for step in [0, 1, 19, 20, 21, 150, 299, 300] {
            #expect(abs(s(step) - reference(step, total: 300, peak: 1e-3, warmup: 20, minRatio: 0.1)) < 1e-15, "step \(step)")
        }
        #expect(abs(s(300) - 1e-4) < 1e-12)
    }

    @Test func constantAfterWarmup() {
        let s = LearningRateSchedule(peak: 2e-3, warmupSteps: 4, minRatio: 0.1, totalSteps: 100, shape: .constant)
        #expect(s(0) == 5e-4)
        #expect(s(50) == 2e-3)
    }
}

import CHybridPlugin

@Suite struct ValueScheduleTests {
    @Test func constantLinearAndCosine() {
        #expect(hybrid_schedule(HYBRID_SCHEDULE_CONSTANT, 1, 3, 0.7) == 1)
        #expect(hybrid_schedule(HYBRID_SCHEDULE_LINEAR, 1, 3, 0.25) == 1.5)
        #expect(hybrid_schedule(HYBRID_SCHEDULE_LINEAR, 1, 3, 2) == 3, "progress is clamped")
        #expect(abs(hybrid_schedule(HYBRID_SCHEDULE_COSINE, 1, 3, 0.5) - 2) < 1e-6)
        #expect(hybrid_schedule(HYBRID_SCHEDULE_COSINE, 1, 3, 0) == 1)
        #expect(abs(hybrid_schedule(HYBRID_SCHEDULE_COSINE, 1, 3, 1) - 3) < 1e-6)
    }
}
