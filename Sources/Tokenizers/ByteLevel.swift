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

    /// The bytes a token string stands for; a token with any character outside the map (an
    /// added token such as `<｜User｜>`) stands for its own UTF-8, as in the library's decoder.
    static func decode(_ token: String) -> [UInt8] {
        var out: [UInt8] = []
        for s in token.unicodeScalars {
            guard let b = scalarToByte[s.value] else { return Array(token.utf8) }
            out.append(b)
        }
        return out
    }

    /// The byte of a `<0xXX>` token (SentencePiece byte fallback), or nil.
    static func byteToken(_ token: String) -> UInt8? {
        let u = Array(token.utf8)
        guard u.count == 6, u[0] == 0x3C, u[1] == 0x30, u[2] == 0x78, u[5] == 0x3E else { return nil }
        return UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16)
    }
}
