/// The allow-list of Python globals a weights-only load may reference, and what `REDUCE` means
/// for each. Nothing here ever runs Python: symbols are inert tags.
enum TorchGlobals {
    enum Symbol: Equatable {
        case orderedDict
        case rebuildTensorV2
        case rebuildTensorV3
        case rebuildParameter
        case rebuildParameterWithState
        /// A `torch.<X>Storage` class (or `UntypedStorage`, dtype u8).
        case storageType(DType, untyped: Bool)
        /// A `torch.<dtype>` object, as `_rebuild_tensor_v3` receives it.
        case dtype(DType)
    }

    static let storageTypes: [String: DType] = [
        "FloatStorage": .f32, "HalfStorage": .f16, "BFloat16Storage": .bf16, "DoubleStorage": .f64,
        "ByteStorage": .u8, "CharStorage": .i8, "ShortStorage": .i16, "IntStorage": .i32, "LongStorage": .i64,
        "BoolStorage": .bool, "ComplexFloatStorage": .c64,
    ]

    static let dtypes: [String: DType] = [
        "float32": .f32, "float": .f32, "float16": .f16, "half": .f16, "bfloat16": .bf16, "float64": .f64,
        "double": .f64, "uint8": .u8, "int8": .i8, "int16": .i16, "short": .i16, "int32": .i32, "int": .i32,
        "int64": .i64, "long": .i64, "bool": .bool, "uint16": .u16, "uint32": .u32, "uint64": .u64,
        "float8_e4m3fn": .f8e4m3, "float8_e5m2": .f8e5m2, "float8_e4m3fnuz": .f8e4m3fnuz,
        "float8_e5m2fnuz": .f8e5m2fnuz, "float8_e8m0fnu": .f8e8m0, "complex64": .c64,
    ]

    /// Resolves `module.name`, or refuses it before anything else is read.
    static func resolve(module: String, name: String, path: String) throws(CheckpointError) -> Symbol {
        let full = "\(module).\(name)"
        switch (module, name) {
        case ("collections", "OrderedDict"): return .orderedDict
        case ("torch._utils", "_rebuild_tensor_v2"): return .rebuildTensorV2
        case ("torch._utils", "_rebuild_tensor_v3"): return .rebuildTensorV3
        case ("torch._utils", "_rebuild_parameter"): return .rebuildParameter
        case ("torch._utils", "_rebuild_parameter_with_state"): return .rebuildParameterWithState
        case ("torch", "UntypedStorage"): return .storageType(.u8, untyped: true)
        case ("torch", _):
            if let d = storageTypes[name] { return .storageType(d, untyped: false) }
            if let d = dtypes[name] { return .dtype(d) }
            if name.hasPrefix("Q") && name.hasSuffix("Storage") {
                throw CheckpointError(
                    .forbiddenGlobal("\(full) (quantized storages are not weights hasskit can convert)"), path: path)
            }
            throw CheckpointError(.forbiddenGlobal(full), path: path)
        default:
            throw CheckpointError(.forbiddenGlobal(full), path: path)
        }
    }

    /// What `REDUCE` of an allowed symbol builds.
    static func reduce(
        _ symbol: Symbol, _ args: [PickleValue], path: String, offset: Int
    ) throws(CheckpointError) -> PickleValue {
        func fail(_ m: String) -> CheckpointError { CheckpointError(.pickle(offset: offset, detail: m), path: path) }
        switch symbol {
        case .orderedDict:
            guard args.isEmpty else { throw fail("OrderedDict called with arguments") }
            return .dict(DictBox())
        case .rebuildTensorV2, .rebuildTensorV3:
            let v3 = symbol == .rebuildTensorV3
            guard args.count >= (v3 ? 7 : 6), args.count <= (v3 ? 8 : 7) else {
                throw fail("_rebuild_tensor called with \(args.count) arguments")
            }
            guard case let .storage(storage) = args[0] else {
                throw fail("_rebuild_tensor: first argument is not a storage")
            }
            guard case let .int(offset) = args[1], let off = Int(exactly: offset) else {
                throw fail("_rebuild_tensor: storage offset is not an integer")
            }
            let size = try ints(args[2], what: "size", fail)
            let stride = try ints(args[3], what: "stride", fail)
            guard size.count == stride.count else {
                throw fail("_rebuild_tensor: size and stride have different ranks")
            }
            var dtype = storage.dtype
            if v3 {
                guard case let .global(.dtype(d)) = args[6] else {
                    throw fail("_rebuild_tensor_v3: dtype argument is not a torch dtype")
                }
                dtype = d
            } else if storage.untyped {
                throw fail("_rebuild_tensor_v2 on an UntypedStorage")
            }
            return .tensor(TensorRef(storage: storage, dtype: dtype, offset: off, size: size, stride: stride))
        case .rebuildParameter, .rebuildParameterWithState:
            guard args.count >= 3, case let .tensor(t) = args[0] else {
                throw fail("_rebuild_parameter without a tensor")
            }
            return .tensor(t)
        case .storageType, .dtype:
            throw CheckpointError(.forbiddenGlobal("calling a storage or dtype object"), path: path)
        }
    }

    private static func ints(
        _ v: PickleValue, what: String, _ fail: (String) -> CheckpointError
    ) throws(CheckpointError) -> [Int] {
        guard case let .tuple(items) = v else { throw fail("_rebuild_tensor: \(what) is not a tuple") }
        var out: [Int] = []
        for item in items {
            guard case let .int(x) = item, let i = Int(exactly: x) else {
                throw fail("_rebuild_tensor: \(what) holds a non-integer")
            }
            out.append(i)
        }
        return out
    }
}
