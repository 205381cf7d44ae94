import Checkpoints
import WeightFormat
import Quantization
import StrictJSON

/// Writes a checkpoint's tensors to a `.hkw` file unchanged (same element types, same bytes),
/// streaming one tensor at a time. Quantizing conversion builds on the same writer.
public enum HKWCopy {
    /// The storage type that holds `dtype` without change, if any.
    public static func storageType(for dtype: DType) -> QuantType? {
        switch dtype {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        case .f8e4m3: return .f8e4m3
        case .i32: return .i32
        case .i64: return .i64
        default: return nil
        }
    }

    /// Copies every tensor of `checkpoint` into a new `.hkw` at `path`.
    /// - Throws: `HKWError` when a tensor's element type has no `.hkw` storage type, or on I/O errors.
    public static func write(_ checkpoint: Checkpoint, to path: String, metadata: JSONValue) throws {
        var entries: [HKWWriter.Entry] = []
        for t in checkpoint.tensors {
            guard let type = storageType(for: t.dtype) else {
                throw HKWError(
                    .invalidEntry(name: t.name, detail: "element type \(t.dtype.rawValue) has no .hkw storage type"),
                    path: path)
            }
            entries.append(.tensor(t.name, type: type, shape: t.shape))
        }
        let writer = try HKWWriter(path: path, metadata: metadata, entries: entries)
        for t in checkpoint.tensors {
            try writer.append(t.contiguousData())
            try writer.finishEntry()
        }
        try writer.commit()
    }
}
