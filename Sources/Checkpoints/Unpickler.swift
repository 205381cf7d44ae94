import Platform

/// A data-only interpreter for the pickles inside PyTorch checkpoints.
///
/// It never imports or calls anything. `GLOBAL` resolves only names on a small allow-list (the
/// ones a `state_dict` needs) to inert symbols; `REDUCE` is a pattern match over those symbols
/// (`OrderedDict()`, `_rebuild_tensor_v2(...)`, `_rebuild_parameter(...)`); every other global or
/// opcode is refused by name, at the point it appears. Stack, nesting, memo, string and object
/// counts are bounded so that a hostile file fails fast instead of exhausting memory or the stack.
struct Unpickler {
    /// Bounds on what one pickle may build.
    struct Limits {
        var maxNesting = 64
        var maxMarks = 64
        var maxStringBytes = 1 << 20
        var maxObjects = 20_000_000
        var maxMemo = 1 << 22
        var maxLongBytes = 8
    }

    let data: ByteView
    let path: String
    var limits = Limits()
    /// Called for BINPERSID with the persistent-id tuple; returns the value to push.
    var persistentLoad: (PickleValue, Int) throws(CheckpointError) -> PickleValue

    init(
        data: ByteView, path: String,
        persistentLoad: @escaping (PickleValue, Int) throws(CheckpointError) -> PickleValue
    ) {
        self.data = data
        self.path = path
        self.persistentLoad = persistentLoad
    }

    /// Runs the pickle that starts at `start`; returns the result and the offset after STOP.
    func run(from start: Int = 0) throws(CheckpointError) -> (PickleValue, Int) {
        var stack: [PickleValue] = []
        var marks: [Int] = []
        var memo: [UInt64: PickleValue] = [:]
        var objects = 0
        var pos = start

        func fail(_ detail: String, at offset: Int? = nil) -> CheckpointError {
            CheckpointError(.pickle(offset: offset ?? pos, detail: detail), path: path)
        }
        func byte() throws(CheckpointError) -> UInt8 {
            guard let b = data.u8(at: pos) else { throw fail("the pickle ends inside an opcode (truncated)") }
            pos += 1
            return b
        }
        func take(_ n: Int) throws(CheckpointError) -> ByteView {
            guard let v = data.slice(start: pos, length: n) else {
                throw fail("an operand of \(n) bytes runs past the end of the pickle (truncated)")
            }
            pos += n
            return v
        }
        func u16() throws(CheckpointError) -> UInt16 {
            guard let v = data.u16(at: pos) else { throw fail("the pickle ends inside an opcode (truncated)") }
            pos += 2
            return v
        }
        func u32() throws(CheckpointError) -> UInt32 {
            guard let v = data.u32(at: pos) else { throw fail("the pickle ends inside an opcode (truncated)") }
            pos += 4
            return v
        }
        func u64() throws(CheckpointError) -> UInt64 {
            guard let v = data.u64(at: pos) else { throw fail("the pickle ends inside an opcode (truncated)") }
            pos += 8
            return v
        }
        func pop(_ op: Int) throws(CheckpointError) -> PickleValue {
            guard let v = stack.popLast(), stack.count >= (marks.last ?? 0) else {
                throw fail("stack underflow", at: op)
            }
            return v
        }
        func top(_ op: Int) throws(CheckpointError) -> PickleValue {
            guard let v = stack.last, stack.count > (marks.last ?? 0) else { throw fail("stack underflow", at: op) }
            return v
        }
        func popMark(_ op: Int) throws(CheckpointError) -> [PickleValue] {
            guard let m = marks.popLast() else { throw fail("no MARK on the stack", at: op) }
            let items = Array(stack[m...])
            stack.removeSubrange(m...)
            return items
        }
        func push(_ v: PickleValue, _ op: Int) throws(CheckpointError) {
            objects += 1
            guard objects <= limits.maxObjects else {
                throw CheckpointError(.limitExceeded("more than \(limits.maxObjects) pickle objects"), path: path)
            }
            guard v.depth <= limits.maxNesting else {
                throw CheckpointError(
                    .limitExceeded("nesting deeper than \(limits.maxNesting) at byte \(op)"), path: path)
            }
            stack.append(v)
        }
        func string(_ n: UInt64, _ op: Int) throws(CheckpointError) -> String {
            guard n <= UInt64(limits.maxStringBytes) else {
                throw CheckpointError(
                    .limitExceeded("string of \(n) bytes at byte \(op) (limit \(limits.maxStringBytes))"), path: path)
            }
            let v = try take(Int(n))
            guard let s = String(validating: v.array, as: UTF8.self) else { throw fail("string is not UTF-8", at: op) }
            return s
        }
        func memoPut(_ key: UInt64, _ op: Int) throws(CheckpointError) {
            let v = try top(op)
            guard memo.count < limits.maxMemo || memo[key] != nil else {
                throw CheckpointError(.limitExceeded("more than \(limits.maxMemo) memo entries"), path: path)
            }
            memo[key] = v
        }
        func memoGet(_ key: UInt64, _ op: Int) throws(CheckpointError) -> PickleValue {
            guard let v = memo[key] else { throw fail("memo key \(key) was never stored", at: op) }
            return v
        }
        func insertable(_ v: PickleValue, _ op: Int) throws(CheckpointError) -> PickleValue {
            v.markContained()
            return v
        }

        while true {
            let op = pos
            let code = try byte()
            switch code {
            case 0x80:  // PROTO
                let proto = try byte()
                guard proto <= 5 else { throw fail("unsupported pickle protocol \(proto)", at: op) }
            case 0x95:  // FRAME (protocol 4): a length hint only
                _ = try u64()
            case 0x2E:  // STOP
                guard marks.isEmpty else { throw fail("STOP with an open MARK", at: op) }
                guard stack.count == 1, let result = stack.first else {
                    throw fail("STOP with \(stack.count) values on the stack", at: op)
                }
                return (result, pos)
            case 0x28:  // MARK
                guard marks.count < limits.maxMarks else {
                    throw CheckpointError(
                        .limitExceeded("MARK nesting deeper than \(limits.maxMarks) at byte \(op)"), path: path)
                }
                marks.append(stack.count)
            case 0x4E: try push(.none, op)  // NONE
            case 0x88: try push(.bool(true), op)  // NEWTRUE
            case 0x89: try push(.bool(false), op)  // NEWFALSE
            case 0x4A: try push(.int(Int64(Int32(bitPattern: try u32()))), op)  // BININT
            case 0x4B: try push(.int(Int64(try byte())), op)  // BININT1
            case 0x4D: try push(.int(Int64(try u16())), op)  // BININT2
            case 0x8A:  // LONG1: little-endian two's complement
                let n = Int(try byte())
                guard n <= limits.maxLongBytes else {
                    throw CheckpointError(
                        .limitExceeded("LONG1 integer of \(n) bytes at byte \(op) (limit \(limits.maxLongBytes))"),
                        path: path)
                }
                let bytes = try take(n).array
                var v: UInt64 = 0
                for (i, b) in bytes.enumerated() { v |= UInt64(b) << (8 * UInt64(i)) }
                if n > 0, n < 8, bytes[n - 1] & 0x80 != 0 { v |= ~0 << (8 * UInt64(n)) }
                try push(.int(Int64(bitPattern: v)), op)
            case 0x47:  // BINFLOAT, big-endian
                let bits = try u64()
                try push(.float(Double(bitPattern: UInt64(bigEndian: bits))), op)
            case 0x58: try push(.string(try string(UInt64(try u32()), op)), op)  // BINUNICODE
            case 0x8C: try push(.string(try string(UInt64(try byte()), op)), op)  // SHORT_BINUNICODE
            case 0x8D: try push(.string(try string(try u64(), op)), op)  // BINUNICODE8
            case 0x55: try push(.string(try string(UInt64(try byte()), op)), op)  // SHORT_BINSTRING
            case 0x54: try push(.string(try string(UInt64(try u32()), op)), op)  // BINSTRING
            case 0x43:  // SHORT_BINBYTES
                let n = Int(try byte())
                try push(.bytes(try take(n).array), op)
            case 0x42:  // BINBYTES
                let n = try u32()
                guard n <= UInt32(limits.maxStringBytes) else {
                    throw CheckpointError(.limitExceeded("bytes of \(n) at byte \(op)"), path: path)
                }
                try push(.bytes(try take(Int(n)).array), op)
            case 0x29: try push(.tuple([]), op)  // EMPTY_TUPLE
            case 0x74:  // TUPLE
                let items = try popMark(op)
                for v in items { _ = try insertable(v, op) }
                try push(.tuple(items), op)
            case 0x85, 0x86, 0x87:  // TUPLE1..3
                let n = Int(code - 0x84)
                var items: [PickleValue] = []
                for _ in 0..<n { items.insert(try insertable(try pop(op), op), at: 0) }
                try push(.tuple(items), op)
            case 0x5D: try push(.list(ListBox()), op)  // EMPTY_LIST
            case 0x7D: try push(.dict(DictBox()), op)  // EMPTY_DICT
            case 0x61:  // APPEND
                let v = try pop(op)
                guard case let .list(box) = try top(op) else {
                    throw fail("APPEND to a value that is not a list", at: op)
                }
                try box.append(
                    [try insertable(v, op)], limit: limits.maxNesting,
                    error: fail("list modified after it was nested, or nested too deep", at: op))
            case 0x65:  // APPENDS
                let items = try popMark(op)
                guard case let .list(box) = try top(op) else {
                    throw fail("APPENDS to a value that is not a list", at: op)
                }
                for v in items { _ = try insertable(v, op) }
                try box.append(
                    items, limit: limits.maxNesting,
                    error: fail("list modified after it was nested, or nested too deep", at: op))
            case 0x73:  // SETITEM
                let value = try pop(op)
                let key = try pop(op)
                guard case let .dict(box) = try top(op) else {
                    throw fail("SETITEM on a value that is not a dict", at: op)
                }
                try box.set(
                    [(try insertable(key, op), try insertable(value, op))], limit: limits.maxNesting,
                    error: fail("dict modified after it was nested, or nested too deep", at: op))
            case 0x75:  // SETITEMS
                let items = try popMark(op)
                guard items.count % 2 == 0 else { throw fail("SETITEMS with an odd number of items", at: op) }
                guard case let .dict(box) = try top(op) else {
                    throw fail("SETITEMS on a value that is not a dict", at: op)
                }
                var pairs: [(PickleValue, PickleValue)] = []
                var k = 0
                while k < items.count {
                    pairs.append((try insertable(items[k], op), try insertable(items[k + 1], op)))
                    k += 2
                }
                try box.set(
                    pairs, limit: limits.maxNesting,
                    error: fail("dict modified after it was nested, or nested too deep", at: op))
            case 0x71: try memoPut(UInt64(try byte()), op)  // BINPUT
            case 0x72: try memoPut(UInt64(try u32()), op)  // LONG_BINPUT
            case 0x94: try memoPut(UInt64(memo.count), op)  // MEMOIZE
            case 0x68: try push(try memoGet(UInt64(try byte()), op), op)  // BINGET
            case 0x6A: try push(try memoGet(UInt64(try u32()), op), op)  // LONG_BINGET
            case 0x63:  // GLOBAL "module\nname\n"
                guard let nl1 = data.firstIndex(of: 0x0A, from: pos), nl1 - pos <= 256 else {
                    throw fail("unterminated GLOBAL", at: op)
                }
                let module = String(decoding: try take(nl1 - pos).array, as: UTF8.self)
                pos += 1
                guard let nl2 = data.firstIndex(of: 0x0A, from: pos), nl2 - pos <= 256 else {
                    throw fail("unterminated GLOBAL", at: op)
                }
                let name = String(decoding: try take(nl2 - pos).array, as: UTF8.self)
                pos += 1
                try push(.global(try TorchGlobals.resolve(module: module, name: name, path: path)), op)
            case 0x93:  // STACK_GLOBAL
                let nameValue = try pop(op)
                let moduleValue = try pop(op)
                guard case let .string(name) = nameValue, case let .string(module) = moduleValue else {
                    throw fail("STACK_GLOBAL operands are not strings", at: op)
                }
                try push(.global(try TorchGlobals.resolve(module: module, name: name, path: path)), op)
            case 0x52:  // REDUCE
                let args = try pop(op)
                let callable = try pop(op)
                guard case let .global(symbol) = callable else {
                    throw fail("REDUCE on a value that is not an allowed global", at: op)
                }
                guard case let .tuple(arguments) = args else { throw fail("REDUCE arguments are not a tuple", at: op) }
                try push(try TorchGlobals.reduce(symbol, arguments, path: path, offset: op), op)
            case 0x62:  // BUILD
                let state = try pop(op)
                let target = try top(op)
                guard case .dict = target else {
                    throw CheckpointError(
                        .notAStateDict("BUILD at byte \(op) targets a value that is not a dict"), path: path)
                }
                switch state {
                case .dict, .none: break  // attributes such as `_metadata`: not part of the tensors
                default:
                    throw CheckpointError(.notAStateDict("BUILD at byte \(op) applies a non-dict state"), path: path)
                }
            case 0x51:  // BINPERSID
                let pid = try pop(op)
                try push(try persistentLoad(pid, op), op)
            default:
                throw CheckpointError(.forbiddenOpcode(name: Unpickler.opcodeName(code), offset: op), path: path)
            }
        }
    }

    static func opcodeName(_ code: UInt8) -> String {
        let names: [UInt8: String] = [
            0x69: "INST", 0x6F: "OBJ", 0x81: "NEWOBJ", 0x92: "NEWOBJ_EX", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4",
            0x50: "PERSID", 0x30: "POP", 0x31: "POP_MARK", 0x32: "DUP", 0x49: "INT", 0x4C: "LONG", 0x46: "FLOAT",
            0x53: "STRING", 0x56: "UNICODE", 0x8B: "LONG4", 0x8E: "BINBYTES8", 0x8F: "EMPTY_SET", 0x90: "ADDITEMS",
            0x91: "FROZENSET", 0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER", 0x67: "GET",
            0x70: "PUT",
            0x64: "DICT", 0x6C: "LIST",
        ]
        return names[code] ?? String(format: "0x%02X", code)
    }
}

private extension String {
    init(format: String, _ value: UInt8) {
        let hex = String(value, radix: 16, uppercase: true)
        self = "0x" + (hex.count < 2 ? "0" + hex : hex)
    }
}

/// A value built by the unpickler. Containers are reference types because pickles share them
/// through the memo; they are frozen once nested so depth bookkeeping stays exact.
indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int64)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list(ListBox)
    case dict(DictBox)
    case global(TorchGlobals.Symbol)
    case storage(StorageRef)
    case tensor(TensorRef)

    var depth: Int {
        switch self {
        case let .tuple(items): return 1 + (items.map(\.depth).max() ?? 0)
        case let .list(b): return b.depth
        case let .dict(b): return b.depth
        default: return 0
        }
    }

    func markContained() {
        switch self {
        case let .list(b): b.contained = true
        case let .dict(b): b.contained = true
        default: break
        }
    }
}

final class ListBox {
    var items: [PickleValue] = []
    var depth = 1
    var contained = false

    func append(_ values: [PickleValue], limit: Int, error: @autoclosure () -> CheckpointError) throws(CheckpointError)
    {
        guard !contained else { throw error() }
        for v in values { depth = max(depth, 1 + v.depth) }
        guard depth <= limit else { throw error() }
        items.append(contentsOf: values)
    }
}

final class DictBox {
    var items: [(PickleValue, PickleValue)] = []
    var depth = 1
    var contained = false

    func set(
        _ pairs: [(PickleValue, PickleValue)], limit: Int, error: @autoclosure () -> CheckpointError
    ) throws(CheckpointError) {
        guard !contained else { throw error() }
        for (k, v) in pairs { depth = max(depth, 1 + k.depth, 1 + v.depth) }
        guard depth <= limit else { throw error() }
        items.append(contentsOf: pairs)
    }
}

/// A storage named by a persistent id.
struct StorageRef {
    var key: String
    /// Element type of the storage (`u8` for `UntypedStorage`).
    var dtype: DType
    /// Elements in the storage (bytes for `UntypedStorage`).
    var count: Int
    var untyped: Bool
}

/// A tensor built by `_rebuild_tensor_v2/_v3`.
struct TensorRef {
    var storage: StorageRef
    var dtype: DType
    var offset: Int
    var size: [Int]
    var stride: [Int]
}
