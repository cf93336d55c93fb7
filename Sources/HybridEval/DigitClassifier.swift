import HybridTrain
import HybridCore
import HybridNN

/// The judge of generated digits: a small MLP classifier trained on the real images, whose
/// held-out accuracy says how far to trust it, and whose last hidden layer is the feature space
/// of the Fréchet distance (as Inception's is for FID on photographs).
///     pixels [N, S²] → linear 256 → GELU → linear 256 → GELU = features → linear C = logits
public final class DigitClassifier {
    public static let featureCount = 256
    let parameters: ParameterStore
    let backend: Backend
    let pixelCount: Int
    public let classes: Int

    /// Trains on `train` (AdamW, cosine schedule, `steps` batches of 128 drawn with `seed`).
    public init(training train: ImageSet, classes: Int, steps: Int = 3000, seed: UInt64 = 7, backend: Backend) throws {
        self.backend = backend
        self.classes = classes
        pixelCount = train.side * train.side
        parameters = ParameterStore()
        let B = 128
        let g = Graph(parameters: parameters)
        let x = g.input("pixels", shape: [B, pixelCount], dtype: .float32)
        let targets = g.input("labels", shape: [B], dtype: .int32)
        let weights = g.input("weights", shape: [B], dtype: .float32)
        let logits = try linear(g, Self.features(g, x), name: "clf.out", outFeatures: classes)
        let loss = try g.crossEntropy(logits: logits, targets: targets, weights: weights)
        try g.differentiate(loss: loss)
        parameters.materialize(seed: seed)
        let exe = try backend.compile(g)
        exe.floatInput(weights).update(repeating: 1)
        var rng = RandomStream(seed: seed, stream: RandomStream.streamID("classifier"))
        let schedule = LearningRateSchedule(peak: 2e-3, warmupSteps: 100, minRatio: 0.05, totalSteps: steps, shape: .cosine)
        for step in 0..<steps {
            let pixels = exe.floatInput(x), labels = exe.int32Input(targets)
            for b in 0..<B {
                let i = rng.below(train.count)
                for j in 0..<pixelCount { pixels[b * pixelCount + j] = train.pixels[i * pixelCount + j] }
                labels[b] = train.labels[i]
            }
            parameters.zeroGradients()
            exe.forward()
            exe.backward(seed: 1)
            backend.adamwStep(parameters, settings: AdamWSettings(learningRate: Float(schedule(step)), beta1: 0.9, beta2: 0.999,
                                                                  eps: 1e-8, weightDecay: 0.01), step: step + 1)
        }
    }

    static func features(_ g: Graph, _ x: TensorID) throws -> TensorID {
        let h = try g.gelu(linear(g, x, name: "clf.fc1", outFeatures: featureCount))
        return try g.gelu(linear(g, h, name: "clf.fc2", outFeatures: featureCount))
    }

    /// Features [N, 256] and predicted classes [N] of `count` images (pixels [N, S²]).
    public func judge(_ pixels: [Float], count: Int) throws -> (features: [Float], predictions: [Int]) {
        precondition(pixels.count == count * pixelCount, "judge: \(pixels.count) pixels for \(count) images")
        let g = Graph(parameters: parameters)
        let x = g.input("pixels", shape: [count, pixelCount], dtype: .float32)
        let features = try Self.features(g, x)
        let logits = try linear(g, features, name: "clf.out", outFeatures: classes)
        try g.markOutput(features)
        try g.markOutput(logits)
        let exe = try backend.compile(g)
        _ = exe.floatInput(x).update(fromContentsOf: pixels)
        exe.forward()
        let scores = exe.read(logits)
        let predictions = (0..<count).map { i in (0..<classes).max { scores[i * classes + $0] < scores[i * classes + $1] }! }
        return (exe.read(features), predictions)
    }

    /// The fraction of `set` classified as its labels.
    public func accuracy(on set: ImageSet) throws -> Double {
        let predictions = try judge(set.pixels, count: set.count).predictions
        return Double(zip(predictions, set.labels).filter { $0 == Int($1) }.count) / Double(set.count)
    }
}
