/// Why a JSON text was refused, with the byte offset where the parser stopped.
public struct JSONError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        case invalidUTF8
        case unexpectedEnd
        case unexpectedByte(UInt8)
        case invalidNumber
        case invalidEscape
        case duplicateKey(String)
        case tooDeep(limit: Int)
        case trailingData
    }
    public var code: Code
    /// Byte offset in the input.
    public var offset: Int

    public var description: String {
        switch code {
        case .invalidUTF8: return "invalid UTF-8 at byte \(offset)"
        case .unexpectedEnd: return "JSON ends unexpectedly at byte \(offset)"
        case let .unexpectedByte(b):
            let shown = (0x20..<0x7F).contains(b) ? "'\(Character(Unicode.Scalar(b)))'" : "0x" + String(b, radix: 16)
            return "unexpected \(shown) at byte \(offset)"
        case .invalidNumber: return "invalid number at byte \(offset)"
        case .invalidEscape: return "invalid string escape at byte \(offset)"
        case let .duplicateKey(k): return "duplicate key \"\(k.prefix(80))\" at byte \(offset)"
        case let .tooDeep(limit): return "nesting deeper than \(limit) at byte \(offset)"
        case .trailingData: return "data after the JSON value at byte \(offset)"
        }
    }
}

/// A strict RFC 8259 parser: UTF-8 validated, duplicate object keys rejected, nesting bounded,
/// numbers kept as text. Leading and trailing whitespace is allowed (safetensors headers pad with it).
public struct JSONParser {
    /// Maximum nesting of arrays and objects; a hostile file cannot exhaust the stack.
    public var maxDepth: Int

    public init(maxDepth: Int = 128) {
        self.maxDepth = maxDepth
    }

    /// Parses one JSON document.
    /// - Throws: `JSONError`.
    public func parse(_ bytes: some Collection<UInt8>) throws(JSONError) -> JSONValue {
        let array = Array(bytes)
        return try array.withUnsafeBufferPointer { (buf) throws(JSONError) -> JSONValue in
            var state = State(bytes: buf, maxDepth: maxDepth)
            state.skipWhitespace()
            let value = try state.parseValue(depth: 0)
            state.skipWhitespace()
            guard state.pos == buf.count else { throw JSONError(code: .trailingData, offset: state.pos) }
            return value
        }
    }

    /// Parses a JSON document from a string.
    public func parse(_ text: String) throws(JSONError) -> JSONValue {
        try parse(Array(text.utf8))
    }
}

private struct State {
    let bytes: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var pos = 0

    init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    mutating func skipWhitespace() {
        while pos < bytes.count {
            switch bytes[pos] {
            case 0x20, 0x09, 0x0A, 0x0D: pos += 1
            default: return
            }
        }
    }

    func peek() throws(JSONError) -> UInt8 {
        guard pos < bytes.count else { throw JSONError(code: .unexpectedEnd, offset: pos) }
        return bytes[pos]
    }

    mutating func expect(_ literal: StaticString) throws(JSONError) {
        let n = literal.utf8CodeUnitCount
        let lit = UnsafeBufferPointer(start: literal.utf8Start, count: n)
        for i in 0..<n {
            guard pos < bytes.count else { throw JSONError(code: .unexpectedEnd, offset: pos) }
            guard bytes[pos] == lit[i] else { throw JSONError(code: .unexpectedByte(bytes[pos]), offset: pos) }
            pos += 1
        }
    }

    mutating func parseValue(depth: Int) throws(JSONError) -> JSONValue {
        let b = try peek()
        switch b {
        case UInt8(ascii: "{"):
            guard depth < maxDepth else { throw JSONError(code: .tooDeep(limit: maxDepth), offset: pos) }
            return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["):
            guard depth < maxDepth else { throw JSONError(code: .tooDeep(limit: maxDepth), offset: pos) }
            return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "t"):
            try expect("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expect("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expect("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try parseNumber()
        default:
            throw JSONError(code: .unexpectedByte(b), offset: pos)
        }
    }

    mutating func parseObject(depth: Int) throws(JSONError) -> JSONValue {
        pos += 1
        var members: [(String, JSONValue)] = []
        var seen = Set<[UInt8]>()
        skipWhitespace()
        if try peek() == UInt8(ascii: "}") {
            pos += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            let keyOffset = pos
            guard try peek() == UInt8(ascii: "\"") else {
                throw JSONError(code: .unexpectedByte(bytes[pos]), offset: pos)
            }
            let key = try parseString()
            // By bytes: Swift strings compare by canonical equivalence, and a vocabulary holds both
            // U+1F77 and U+03AF (which NFC maps to one another) as distinct tokens.
            guard seen.insert(Array(key.utf8)).inserted else {
                throw JSONError(code: .duplicateKey(key), offset: keyOffset)
            }
            skipWhitespace()
            guard try peek() == UInt8(ascii: ":") else {
                throw JSONError(code: .unexpectedByte(bytes[pos]), offset: pos)
            }
            pos += 1
            skipWhitespace()
            let value = try parseValue(depth: depth)
            members.append((key, value))
            skipWhitespace()
            let c = try peek()
            pos += 1
            if c == UInt8(ascii: "}") { return .object(members) }
            guard c == UInt8(ascii: ",") else { throw JSONError(code: .unexpectedByte(c), offset: pos - 1) }
        }
    }

    mutating func parseArray(depth: Int) throws(JSONError) -> JSONValue {
        pos += 1
        var items: [JSONValue] = []
        skipWhitespace()
        if try peek() == UInt8(ascii: "]") {
            pos += 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            items.append(try parseValue(depth: depth))
            skipWhitespace()
            let c = try peek()
            pos += 1
            if c == UInt8(ascii: "]") { return .array(items) }
            guard c == UInt8(ascii: ",") else { throw JSONError(code: .unexpectedByte(c), offset: pos - 1) }
        }
    }

    mutating func parseNumber() throws(JSONError) -> JSONValue {
        let start = pos
        if bytes[pos] == UInt8(ascii: "-") { pos += 1 }
        guard pos < bytes.count else { throw JSONError(code: .invalidNumber, offset: start) }
        if bytes[pos] == UInt8(ascii: "0") {
            pos += 1
        } else if isDigit(bytes[pos]) {
            while pos < bytes.count, isDigit(bytes[pos]) { pos += 1 }
        } else {
            throw JSONError(code: .invalidNumber, offset: start)
        }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: ".") {
            pos += 1
            guard pos < bytes.count, isDigit(bytes[pos]) else { throw JSONError(code: .invalidNumber, offset: start) }
            while pos < bytes.count, isDigit(bytes[pos]) { pos += 1 }
        }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E") {
            pos += 1
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-") { pos += 1 }
            guard pos < bytes.count, isDigit(bytes[pos]) else { throw JSONError(code: .invalidNumber, offset: start) }
            while pos < bytes.count, isDigit(bytes[pos]) { pos += 1 }
        }
        return .number(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self))
    }

    func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    mutating func parseString() throws(JSONError) -> String {
        pos += 1  // opening quote
        var out: [UInt8] = []
        var runStart = pos
        while true {
            guard pos < bytes.count else { throw JSONError(code: .unexpectedEnd, offset: pos) }
            let b = bytes[pos]
            if b == UInt8(ascii: "\"") {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<pos]))
                pos += 1
                return String(decoding: out, as: UTF8.self)
            } else if b == UInt8(ascii: "\\") {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<pos]))
                pos += 1
                try parseEscape(into: &out)
                runStart = pos
            } else if b < 0x20 {
                throw JSONError(code: .unexpectedByte(b), offset: pos)
            } else if b < 0x80 {
                pos += 1
            } else {
                try skipUTF8Scalar()
            }
        }
    }

    /// Validates one multi-byte UTF-8 sequence (no overlongs, no surrogates, ≤ U+10FFFF).
    mutating func skipUTF8Scalar() throws(JSONError) {
        let start = pos
        let b0 = bytes[pos]
        var need: Int
        var minScalar: UInt32
        var scalar: UInt32
        switch b0 {
        case 0xC2...0xDF: need = 1; minScalar = 0x80; scalar = UInt32(b0 & 0x1F)
        case 0xE0...0xEF: need = 2; minScalar = 0x800; scalar = UInt32(b0 & 0x0F)
        case 0xF0...0xF4: need = 3; minScalar = 0x10000; scalar = UInt32(b0 & 0x07)
        default: throw JSONError(code: .invalidUTF8, offset: start)
        }
        pos += 1
        while need > 0 {
            guard pos < bytes.count else { throw JSONError(code: .invalidUTF8, offset: start) }
            let c = bytes[pos]
            guard c & 0xC0 == 0x80 else { throw JSONError(code: .invalidUTF8, offset: start) }
            scalar = (scalar << 6) | UInt32(c & 0x3F)
            pos += 1
            need -= 1
        }
        guard scalar >= minScalar, scalar <= 0x10FFFF, !(0xD800...0xDFFF).contains(scalar) else {
            throw JSONError(code: .invalidUTF8, offset: start)
        }
    }

    mutating func parseEscape(into out: inout [UInt8]) throws(JSONError) {
        guard pos < bytes.count else { throw JSONError(code: .unexpectedEnd, offset: pos) }
        let e = bytes[pos]
        pos += 1
        switch e {
        case UInt8(ascii: "\""): out.append(0x22)
        case UInt8(ascii: "\\"): out.append(0x5C)
        case UInt8(ascii: "/"): out.append(0x2F)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try hex4()
            if (0xD800...0xDBFF).contains(scalar) {
                // A high surrogate must be followed by an escaped low surrogate.
                guard pos + 1 < bytes.count, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u")
                else {
                    throw JSONError(code: .invalidEscape, offset: pos)
                }
                pos += 2
                let low = try hex4()
                guard (0xDC00...0xDFFF).contains(low) else { throw JSONError(code: .invalidEscape, offset: pos) }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(scalar) {
                throw JSONError(code: .invalidEscape, offset: pos)
            }
            guard let u = Unicode.Scalar(scalar) else { throw JSONError(code: .invalidEscape, offset: pos) }
            out.append(contentsOf: Array(String(Character(u)).utf8))
        default:
            throw JSONError(code: .invalidEscape, offset: pos - 1)
        }
    }

    mutating func hex4() throws(JSONError) -> UInt32 {
        var v: UInt32 = 0
        for _ in 0..<4 {
            guard pos < bytes.count else { throw JSONError(code: .unexpectedEnd, offset: pos) }
            let c = bytes[pos]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw JSONError(code: .invalidEscape, offset: pos)
            }
            v = v << 4 | d
            pos += 1
        }
        return v
    }
}
