/// Rules a checkpoint must meet before hasskit converts it, beyond what the file formats require.
///
/// The formats allow things a weights converter must not accept: names that are empty, contain
/// NUL or are absurdly long; FP8 weights without their block scales, with scales of the wrong
/// shape, or holding NaN (E4M3FN has no infinities, so NaN in a weight means corruption).
public enum ConversionPolicy {
    /// Longest tensor name accepted, in bytes (published checkpoints stay under 100).
    public static let maxNameBytes = 512

    /// Checks every rule; throws on the first violation.
    /// - Throws: `CheckpointError`.
    public static func check(_ checkpoint: Checkpoint) throws {
        for t in checkpoint.tensors {
            if t.name.isEmpty { throw CheckpointError(.badTensorName("empty tensor name"), path: t.file) }
            if t.name.utf8.contains(0) {
                throw CheckpointError(.badTensorName("tensor name \(quoted(t.name)) contains NUL"), path: t.file)
            }
            if t.name.utf8.count > maxNameBytes {
                throw CheckpointError(
                    .badTensorName(
                        "tensor name of \(t.name.utf8.count) bytes (limit \(maxNameBytes)): \(quoted(t.name))"),
                    path: t.file)
            }
        }
        for t in checkpoint.tensors where t.dtype == .f8e4m3 {
            guard let scale = checkpoint.tensor(named: FP8BlockScale.scaleName(for: t.name)) else {
                throw CheckpointError(
                    .fp8(tensor: t.name, detail: "no \(FP8BlockScale.scaleName(for: t.name)) block-scale tensor"),
                    path: t.file)
            }
            try FP8BlockScale.validate(weight: t, scale: scale)
        }
    }
}
