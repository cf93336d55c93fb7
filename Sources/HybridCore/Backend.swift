import Foundation

/// What a compute backend offers the trainer: turn a graph into something runnable over the
/// shared parameters, and update those parameters.
public protocol Backend: AnyObject {
    /// One line naming the device, for the run log.
    var deviceDescription: String { get }
    func compile(_ graph: Graph) throws -> Executable
    /// Graphs that run one at a time, each run finished and its outputs read before another
    /// starts (a mixture's objectives, one after another in a step): a backend may let their
    /// activations share memory, so an output holds only until another of them runs.
    func compile(oneAtATime graphs: [Graph]) throws -> [Executable]
    /// Memory for a new parameter store, where this backend's kernels can reach it.
    func parameterMemory() -> ParameterMemory
    /// One AdamW step over every parameter, after the gradients were clipped.
    func adamwStep(_ parameters: ParameterStore, settings: AdamWSettings, step: Int)
    /// The global L2 norm of all gradients.
    func gradientNorm(_ parameters: ParameterStore) -> Double
    /// Multiplies every gradient by `factor` (global-norm clipping).
    func scaleGradients(_ parameters: ParameterStore, by factor: Float)
}

extension Backend {
    /// Without shared memory: each graph compiled on its own.
    public func compile(oneAtATime graphs: [Graph]) throws -> [Executable] {
        try graphs.map(compile)
    }
}

public struct AdamWSettings: Sendable, Equatable {
    public var learningRate: Float
    public var beta1: Float
    public var beta2: Float
    public var eps: Float
    public var weightDecay: Float

    public init(learningRate: Float, beta1: Float, beta2: Float, eps: Float, weightDecay: Float) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
    }

    /// The scalars of step `t` (1-based) that every backend's AdamW kernel takes, computed
    /// here once, in double, so the backends agree to the bit: the decoupled decay factor
    /// (1 for parameters that do not decay), the bias-corrected step size lr / (1 − β1^t) and
    /// sqrt(1 − β2^t), which divides sqrt(v).
    public func scalars(step t: Int, decays: Bool) -> AdamWScalars {
        precondition(t >= 1, "AdamW: step is 1-based, got \(t)")
        return AdamWScalars(decay: 1 - learningRate * (decays ? weightDecay : 0),
                            stepSize: Float(Double(learningRate) / (1 - pow(Double(beta1), Double(t)))),
                            rootCorrection2: Float((1 - pow(Double(beta2), Double(t))).squareRoot()))
    }
}

/// One parameter's AdamW scalars at one step (`AdamWSettings.scalars`).
public struct AdamWScalars: Sendable, Equatable {
    public var decay, stepSize, rootCorrection2: Float
}

/// A compiled graph. Inputs are written through `inputBuffer`, then `forward()`, and for
/// training graphs `backward(seed:)`, which accumulates into the parameter gradients.
public protocol Executable: AnyObject {
    var graph: Graph { get }
    /// When set, every node's wall time is added to it.
    var profile: OpProfile? { get set }
    func int32Input(_ id: TensorID) -> UnsafeMutableBufferPointer<Int32>
    func floatInput(_ id: TensorID) -> UnsafeMutableBufferPointer<Float>
    func forward()
    /// Runs the backward with d(loss) = seed (the objective's weight in a mixture).
    func backward(seed: Float)
    /// Reads an output tensor (the loss, logits) after a run.
    func read(_ id: TensorID) -> [Float]
    /// Copies `count` floats of an output starting at element `offset` into `into`.
    func read(_ id: TensorID, offset: Int, count: Int, into: UnsafeMutablePointer<Float>)
}
