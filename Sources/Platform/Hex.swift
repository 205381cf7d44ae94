/// Lower-case hexadecimal, the one encoder for digests, object ids and commit names.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes of a hex string (either case), or nil when it is not one.
    public static func decode(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x61...0x66: return c - 0x61 + 10
            case 0x41...0x46: return c - 0x41 + 10
            default: return nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        for i in stride(from: 0, to: digits.count, by: 2) {
            guard let hi = value(digits[i]), let lo = value(digits[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
        }
        return out
    }
}

extension ByteView {
    /// Hands the bytes to `body` `chunk` bytes at a time, releasing each chunk's pages from the
    /// resident set after (a multi-gigabyte file is hashed without staying in memory). The one
    /// chunked read behind every file digest: downloads, conversion sources, `.hkw` entries.
    public func forEachChunk(_ chunk: Int, releasing: Bool = true, _ body: (UnsafeRawBufferPointer) -> Void) {
        var offset = 0
        while offset < count {
            let n = Swift.min(chunk, count - offset)
            if let part = slice(start: offset, length: n) {
                part.withUnsafeBytes(body)
                if releasing { part.releasePages() }
            }
            offset += n
        }
    }
}

/// Byte counts as people read them: binary units with one decimal (`25.0 MiB`), whole bytes below
/// 1 KiB (`512 B`). The one formatter for messages and reports.
public enum ByteCount {
    public static func format(_ n: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(n)
        var u = 0
        while v >= 1024, u < units.count - 1 {
            v /= 1024
            u += 1
        }
        guard u > 0 else { return "\(n) B" }
        let tenths = Int((v * 10).rounded())
        return "\(tenths / 10).\(tenths % 10) \(units[u])"
    }
}
