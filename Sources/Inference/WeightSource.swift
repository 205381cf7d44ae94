import WeightFormat

/// A converted file's tensors as the engine runs them: each matrix opened with the model's
/// activation mode, or an error naming the tensor the file lacks.
struct WeightSource {
    let file: HKWFile
    let activations: Activations

    var path: String { file.path }

    func has(_ name: String) -> Bool { file.tensor(named: name) != nil }

    /// Tensor `name` as a matrix.
    func matrix(_ name: String) throws -> WeightMatrix {
        guard let e = file.tensor(named: name) else { throw InferenceError("missing tensor \(name)", path: path) }
        if e.type == .f8e4m3 {
            return try WeightMatrix(fp8: e, scale: file.tensor(named: name + "_scale_inv"), path: path)
        }
        return try WeightMatrix(e, path: path, activations: activations)
    }

    /// Tensor `name` decoded to floats (norms, biases).
    func vector(_ name: String) throws -> [Float] { try matrix(name).vector() }

    /// Tensor `name` decoded to floats, or nil when the file has no such tensor (optional biases).
    func optionalVector(_ name: String) throws -> [Float]? {
        has(name) ? try vector(name) : nil
    }
}
