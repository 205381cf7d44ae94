import Platform

/// A PyTorch `state_dict` saved by `torch.save`: the zip format (torch ≥ 1.6) or the legacy
/// stream format (torch 1.0–1.5). Loaded without executing anything (see `Unpickler`).
public struct TorchCheckpoint: Sendable {
    public enum Variant: String, Sendable { case zip = "pytorch-zip", legacy = "pytorch-legacy" }

    public let path: String
    public let variant: Variant
    /// Tensors sorted by name.
    public let tensors: [Tensor]

    /// Reads `path`, detecting the variant from its first bytes.
    /// - Throws: `CheckpointError`.
    public init(path: String) throws(CheckpointError) {
        let storage: ByteStorage
        do {
            storage = try ByteStorage(mapping: path)
        } catch {
            throw CheckpointError(error)
        }
        try self.init(view: storage.view, path: path)
    }

    public init(view: ByteView, path: String) throws(CheckpointError) {
        self.path = path
        if view.hasBytes([0x50, 0x4B, 0x03, 0x04]) {
            variant = .zip
            tensors = try TorchCheckpoint.loadZip(view: view, path: path)
        } else if view.hasBytes([0x80, 0x02, 0x8A, 0x0A]) {
            variant = .legacy
            tensors = try TorchCheckpoint.loadLegacy(view: view, path: path)
        } else {
            throw CheckpointError(
                .unrecognizedFormat("neither a PyTorch zip archive nor a legacy torch.save stream"), path: path)
        }
    }

    /// Largest `data.pkl` accepted; a state dict's pickle is tiny next to its tensors.
    static let maxPickleBytes = 256 << 20

    private static func loadZip(view: ByteView, path: String) throws(CheckpointError) -> [Tensor] {
        let zip = try ZipArchive(view: view, path: path)
        guard let pickle = try zip.record("data.pkl") else {
            throw CheckpointError(.missingRecord("\(zip.root)/data.pkl"), path: path)
        }
        guard pickle.count <= maxPickleBytes else {
            throw CheckpointError(
                .limitExceeded("data.pkl is \(pickle.count) bytes (limit \(maxPickleBytes))"), path: path)
        }
        var swap = false
        if let order = try zip.record("byteorder") {
            switch String(decoding: order.array, as: UTF8.self) {
            case "little": swap = false
            case "big": swap = true
            case let other: throw CheckpointError(.invalidZip("byteorder record says \(quoted(other))"), path: path)
            }
        }
        var storages: [String: (StorageRef, ByteView)] = [:]
        let unpickler = Unpickler(data: pickle, path: path) { (pid, offset) throws(CheckpointError) -> PickleValue in
            let ref = try storageRef(pid, legacy: false, path: path, offset: offset)
            if let (known, _) = storages[ref.key] {
                guard known.dtype == ref.dtype, known.count == ref.count else {
                    throw CheckpointError(
                        .storage("storage \(ref.key) is used with two element types or sizes"), path: path)
                }
            } else {
                guard let record = try zip.record("data/\(ref.key)") else {
                    throw CheckpointError(.missingRecord("\(zip.root)/data/\(ref.key)"), path: path)
                }
                let expected = UInt64(ref.count).multipliedReportingOverflow(by: UInt64(ref.dtype.byteWidth ?? 1))
                guard !expected.overflow, UInt64(record.count) == expected.partialValue else {
                    throw CheckpointError(
                        .storage(
                            "record data/\(ref.key) is \(record.count) bytes, but \(ref.count) × \(ref.dtype.rawValue) needs \(expected.partialValue)"
                        ), path: path)
                }
                storages[ref.key] = (ref, record)
            }
            return .storage(ref)
        }
        let (result, _) = try unpickler.run()
        return try tensors(from: result, storages: storages.mapValues { $0.1 }, swap: swap, path: path)
    }

    private static func loadLegacy(view: ByteView, path: String) throws(CheckpointError) -> [Tensor] {
        // 1. magic number: PROTO 2, LONG1 of 10 bytes = 0x1950a86a20f9469cfc6c, STOP.
        let magic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E]
        guard view.hasBytes(magic) else {
            throw CheckpointError(.unrecognizedFormat("bad legacy torch magic number"), path: path)
        }
        var pos = magic.count
        func noStorage(_ pid: PickleValue, _ offset: Int) throws(CheckpointError) -> PickleValue {
            throw CheckpointError(.pickle(offset: offset, detail: "persistent id outside the main pickle"), path: path)
        }
        // 2. protocol version, 3. system info.
        let (version, p2) = try Unpickler(data: view, path: path, persistentLoad: noStorage).run(from: pos)
        guard case .int(1001) = version else {
            throw CheckpointError(.unrecognizedFormat("legacy protocol version is not 1001"), path: path)
        }
        let (sysInfo, p3) = try Unpickler(data: view, path: path, persistentLoad: noStorage).run(from: p2)
        if case let .dict(box) = sysInfo {
            for (k, v) in box.items {
                if case .string("little_endian") = k, case .bool(false) = v {
                    throw CheckpointError(
                        .unrecognizedFormat("big-endian legacy checkpoints are not supported"), path: path)
                }
            }
        }
        // 4. the object, whose persistent ids name storages.
        var refs: [String: StorageRef] = [:]
        let main = Unpickler(data: view, path: path) { (pid, offset) throws(CheckpointError) -> PickleValue in
            let ref = try storageRef(pid, legacy: true, path: path, offset: offset)
            if let known = refs[ref.key], known.dtype != ref.dtype || known.count != ref.count {
                throw CheckpointError(
                    .storage("storage \(ref.key) is used with two element types or sizes"), path: path)
            }
            refs[ref.key] = ref
            return .storage(ref)
        }
        let (result, p4) = try main.run(from: p3)
        // 5. the storage keys, 6. each storage: int64 element count, then its bytes.
        let (keysValue, p5) = try Unpickler(data: view, path: path, persistentLoad: noStorage).run(from: p4)
        guard case let .list(keyBox) = keysValue else {
            throw CheckpointError(.storage("legacy storage key list is not a list"), path: path)
        }
        pos = p5
        var storages: [String: ByteView] = [:]
        for item in keyBox.items {
            guard case let .string(key) = item else {
                throw CheckpointError(.storage("legacy storage key is not a string"), path: path)
            }
            guard let ref = refs[key] else {
                throw CheckpointError(.storage("storage \(key) is listed but never used"), path: path)
            }
            guard let count = view.u64(at: pos) else {
                throw CheckpointError(.storage("file ends before the size of storage \(key) (truncated)"), path: path)
            }
            guard count == UInt64(ref.count) else {
                throw CheckpointError(
                    .storage("storage \(key) holds \(count) elements, its tensors expect \(ref.count)"), path: path)
            }
            let bytes = UInt64(ref.count).multipliedReportingOverflow(by: UInt64(ref.dtype.byteWidth ?? 1))
            guard !bytes.overflow, let data = view.slice(start: pos + 8, length: Int(bytes.partialValue)) else {
                throw CheckpointError(
                    .storage(
                        "storage \(key): \(bytes.partialValue) bytes at offset \(pos + 8) run past the end of the file (truncated)"
                    ), path: path)
            }
            storages[key] = data
            pos += 8 + data.count
        }
        return try tensors(from: result, storages: storages, swap: false, path: path)
    }

    /// Validates a persistent id `('storage', StorageType, key, location, numel[, view])`.
    private static func storageRef(
        _ pid: PickleValue, legacy: Bool, path: String, offset: Int
    ) throws(CheckpointError) -> StorageRef {
        func fail(_ m: String) -> CheckpointError { CheckpointError(.pickle(offset: offset, detail: m), path: path) }
        guard case let .tuple(items) = pid else { throw fail("persistent id is not a tuple") }
        guard items.count == (legacy ? 6 : 5) else {
            throw fail("persistent id has \(items.count) fields, expected \(legacy ? 6 : 5)")
        }
        guard case .string("storage") = items[0] else { throw fail("persistent id tag is not 'storage'") }
        guard case let .global(.storageType(dtype, untyped)) = items[1] else {
            throw fail("persistent id does not name a storage type")
        }
        guard case let .string(key) = items[2], !key.isEmpty, key.utf8.count <= 32,
            key.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 })
        else {
            throw fail("storage key is not a string of ASCII digits")
        }
        guard case .string = items[3] else { throw fail("storage location is not a string") }
        guard case let .int(numel) = items[4], numel >= 0, let count = Int(exactly: numel) else {
            throw fail("storage element count is negative or not an integer")
        }
        if legacy, !(items[5].isNone) { throw fail("legacy storage views (view_metadata) are not supported") }
        return StorageRef(key: key, dtype: dtype, count: count, untyped: untyped)
    }

    /// Turns the unpickled object into tensors: a dict of name → tensor, or a dict holding such
    /// dicts one level down (`{"state_dict": {...}}`). Other values (numbers, strings) are ignored.
    private static func tensors(
        from result: PickleValue, storages: [String: ByteView], swap: Bool, path: String
    ) throws(CheckpointError) -> [Tensor] {
        guard case let .dict(top) = result else {
            throw CheckpointError(.notAStateDict("the top-level object is not a dict"), path: path)
        }
        var refs: [(String, TensorRef)] = []
        var nested: [(String, DictBox)] = []
        for (k, v) in top.items {
            guard case let .string(name) = k else { continue }
            switch v {
            case let .tensor(t): refs.append((name, t))
            case let .dict(d): nested.append((name, d))
            default: continue
            }
        }
        if refs.isEmpty {
            for (prefix, box) in nested {
                for (k, v) in box.items {
                    guard case let .string(name) = k, case let .tensor(t) = v else { continue }
                    refs.append((nested.count == 1 ? name : "\(prefix).\(name)", t))
                }
            }
        }
        var out: [Tensor] = []
        var names = Set<String>()
        for (name, ref) in refs {
            guard names.insert(name).inserted else {
                throw CheckpointError(.badTensorName("duplicate tensor \(quoted(name))"), path: path)
            }
            guard let storage = storages[ref.storage.key] else {
                throw CheckpointError(.missingRecord("data/\(ref.storage.key)"), path: path)
            }
            out.append(try makeTensor(name: name, ref: ref, storage: storage, swap: swap, path: path))
        }
        return out.sorted { $0.name < $1.name }
    }

    private static func makeTensor(
        name: String, ref: TensorRef, storage: ByteView, swap: Bool, path: String
    ) throws(CheckpointError) -> Tensor {
        func fail(_ m: String) -> CheckpointError {
            CheckpointError(.tensorOutOfBounds(tensor: name, detail: m), path: path)
        }
        guard let es = ref.dtype.byteWidth else { throw CheckpointError(.unknownDType(ref.dtype.rawValue), path: path) }
        let storageElements = storage.count / es
        guard storage.count % es == 0 else {
            throw fail("storage of \(storage.count) bytes is not a whole number of \(ref.dtype.rawValue) elements")
        }
        guard ref.offset >= 0 else { throw fail("negative storage offset \(ref.offset)") }
        guard ref.size.allSatisfy({ $0 >= 0 }), ref.stride.allSatisfy({ $0 >= 0 }) else {
            throw fail("negative size or stride (size \(ref.size), stride \(ref.stride))")
        }
        guard let count = elementCount(of: ref.size),
            count.multipliedReportingOverflow(by: UInt64(es)).overflow == false
        else {
            throw CheckpointError(.sizeOverflow(tensor: name), path: path)
        }
        if count > 0 {
            // Highest element index touched: offset + Σ (size_i − 1)·stride_i, overflow-checked.
            var last = UInt64(ref.offset)
            for (s, st) in zip(ref.size, ref.stride) {
                let (m, o1) = UInt64(s - 1).multipliedReportingOverflow(by: UInt64(st))
                let (a, o2) = last.addingReportingOverflow(m)
                guard !o1, !o2 else { throw CheckpointError(.sizeOverflow(tensor: name), path: path) }
                last = a
            }
            guard last < UInt64(storageElements) else {
                throw fail(
                    "size \(ref.size) with stride \(ref.stride) at offset \(ref.offset) reads element \(last), past its \(storageElements)-element storage"
                )
            }
        }
        var contiguous = true
        var expected = 1
        for d in stride(from: ref.size.count - 1, through: 0, by: -1) where ref.size[d] != 1 {
            if ref.stride[d] != expected { contiguous = false }
            expected *= ref.size[d]
        }
        if contiguous && !swap || es == 1 && contiguous {
            let start = ref.offset * es
            guard
                let view = storage.slice(start: count == 0 ? min(start, storage.count) : start, length: Int(count) * es)
            else {
                throw fail("bytes out of range")
            }
            return Tensor(name: name, dtype: ref.dtype, shape: ref.size, file: path, layout: .contiguous(view))
        }
        return Tensor(
            name: name, dtype: ref.dtype, shape: ref.size, file: path,
            layout: .strided(storage: storage, offset: ref.offset, strides: ref.stride, swapBytes: swap && es > 1))
    }
}

extension PickleValue {
    var isNone: Bool {
        if case .none = self { return true }
        return false
    }
}
