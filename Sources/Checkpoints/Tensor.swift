import Platform

/// One tensor of a checkpoint: its name, element type, shape and where its bytes are.
///
/// Tensors from safetensors and from contiguous little-endian PyTorch storages are views of the
/// mapped file (`isZeroCopy`); transposed views and byte-swapped storages are materialised on
/// demand by `contiguousData()`.
public struct Tensor: Sendable {
    /// Name as stored in the checkpoint.
    public let name: String
    public let dtype: DType
    /// Shape, outermost dimension first.
    public let shape: [Int]
    /// The file the bytes live in.
    public let file: String
    let layout: Layout

    enum Layout: Sendable {
        /// Dense row-major bytes, exactly `byteCount` long.
        case contiguous(ByteView)
        /// A strided view into a storage (element offset and strides in elements); `swapBytes`
        /// when the storage is big-endian.
        case strided(storage: ByteView, offset: Int, strides: [Int], swapBytes: Bool)
    }

    init(name: String, dtype: DType, shape: [Int], file: String, layout: Layout) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.file = file
        self.layout = layout
    }

    /// Number of elements (validated at open time to fit in 64 bits).
    public var elementCount: Int { Int(Checkpoints.elementCount(of: shape) ?? 0) }

    /// Bytes of the dense tensor.
    public var byteCount: Int { Int(dtype.byteCount(elements: UInt64(elementCount)) ?? 0) }

    /// True when `contiguousData()` returns a view of the file without copying.
    public var isZeroCopy: Bool {
        if case .contiguous = layout { return true }
        return false
    }

    /// Byte range of the tensor in its file when it is a zero-copy view.
    public var fileRange: Range<Int>? {
        guard case let .contiguous(view) = layout else { return nil }
        return view.offset..<(view.offset + view.count)
    }

    /// The tensor's bytes, dense, row-major, little-endian: a view of the file when possible,
    /// otherwise a materialised copy.
    public func contiguousData() -> ByteView {
        switch layout {
        case let .contiguous(view):
            return view
        case let .strided(storage, offset, strides, swap):
            return Tensor.materialize(
                storage: storage, elementSize: dtype.byteWidth ?? 1, shape: shape,
                offset: offset, strides: strides, swapBytes: swap, label: file)
        }
    }

    /// Gathers a strided view into dense bytes (bounds were validated when the tensor was built).
    static func materialize(
        storage: ByteView, elementSize: Int, shape: [Int], offset: Int, strides: [Int],
        swapBytes: Bool, label: String
    ) -> ByteView {
        let count = Int(Checkpoints.elementCount(of: shape) ?? 0)
        let total = count * elementSize
        let out = ByteStorage.build(count: total, label: label) { dst in
            guard count > 0 else { return }
            storage.withUnsafeBytes { src in
                var index = [Int](repeating: 0, count: shape.count)
                for i in 0..<count {
                    var element = offset
                    for d in 0..<shape.count { element += index[d] * strides[d] }
                    let s = element * elementSize
                    let o = i * elementSize
                    for b in 0..<elementSize {
                        dst[o + b] = src[s + (swapBytes ? elementSize - 1 - b : b)]
                    }
                    var d = shape.count - 1
                    while d >= 0 {
                        index[d] += 1
                        if index[d] < shape[d] { break }
                        index[d] = 0
                        d -= 1
                    }
                }
            }
        }
        return out.view
    }
}
