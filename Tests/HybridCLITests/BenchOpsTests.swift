import Foundation
import Testing

/// `hybrid bench ops --product M,N,K`: one product forward, reported in TFLOP/s; a malformed
/// shape is refused before anything runs.
@Suite struct BenchOpsTests {
    @Test func productTimesOneProductOnEachBackend() throws {
        let r = try CLI.run(["bench", "ops", "--device", "cpu", "--product", "9,7,5", "--seconds", "0.01"])
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stdout.contains("product [9,5]·[5,7]"), "\(r.stdout)")
        #expect(r.stdout.contains("TFLOP/s"), "\(r.stdout)")
        #expect(r.stdout.contains("RESULT {\"cpu_tflops\":"), "\(r.stdout)")
    }

    @Test func aMalformedProductIsRefused() throws {
        let r = try CLI.run(["bench", "ops", "--device", "cpu", "--product", "9,7"])
        #expect(r.status != 0, "\(r.all)")
        #expect(r.stderr.contains("--product takes three positive sizes M,N,K"), "\(r.stderr)")
    }
}
