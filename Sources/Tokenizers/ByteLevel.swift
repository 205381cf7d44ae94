/// GPT-2's reversible map between bytes and printable characters, used by byte-level BPE: the
/// 188 printable Latin-1 bytes map to themselves, the rest to U+0100 upwards.
enum ByteLevel {
    static let byteToScalar: [Unicode.Scalar] = {
        var printable = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        var mapped = printable
        var next = 0
        for b in 0..<256 where !printable.contains(b) {
            printable.append(b)
            mapped.append(256 + next)
            next += 1
        }
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        for (b, m) in zip(printable, mapped) { table[b] = Unicode.Scalar(UInt32(m))! }
        return table
    }()

    static let scalarToByte: [UInt32: UInt8] = {
        var out: [UInt32: UInt8] = [:]
        for (b, s) in byteToScalar.enumerated() { out[s.value] = UInt8(b) }
        return out
    }()

    static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(byteToScalar[Int(b)]) }
        return String(s)
    }

    /// The bytes a token string stands for (characters outside the map are kept as UTF-8).
    static func decode(_ token: String) -> [UInt8] {
        var out: [UInt8] = []
        for s in token.unicodeScalars {
            if let b = scalarToByte[s.value] { out.append(b) } else { out += Array(String(s).utf8) }
        }
        return out
    }
}
