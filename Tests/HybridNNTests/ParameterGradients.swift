import HybridCore
import HybridTestSupport

/// Runs one forward and backward of `executable` (seed 1), then checks the parameter
/// gradients it accumulated against central differences of the loss at `indices` (all when
/// nil). Returns the check and the analytic gradient of every parameter; the parameter values
/// are left as they were.
func checkParameterGradients(_ executable: Executable, loss: TensorID, step: Float,
                             indices: (ParameterStore) -> [Int]? = { _ in nil }) -> (check: GradientCheck, analytic: [Float]) {
    let store = executable.graph.parameters
    let values = store.values!
    let n = store.count
    store.zeroGradients()
    executable.forward()
    executable.backward(seed: 1)
    let analytic = Array(UnsafeBufferPointer(start: store.gradients!, count: n))
    let point = Array(UnsafeBufferPointer(start: values, count: n))
    let check = checkGradient(at: point, analytic: analytic, step: step, indices: indices(store)) { x in
        values.update(from: x, count: n)
        executable.forward()
        return Double(executable.read(loss)[0])
    }
    values.update(from: point, count: n)
    return (check, analytic)
}
