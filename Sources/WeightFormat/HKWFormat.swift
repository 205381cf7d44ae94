/// Constants of the `.hkw` layout. The normative description is `docs/FORMAT.md`.
public enum HKWFormat {
    /// `0x89 'H' 'K' 'W' '\r' '\n' 0x1A '\n'`: a non-ASCII first byte and the CR-LF / EOF bytes
    /// catch text-mode transfers, as PNG's signature does.
    public static let magic: [UInt8] = [0x89, 0x48, 0x4B, 0x57, 0x0D, 0x0A, 0x1A, 0x0A]
    public static let version: UInt32 = 1
    /// Size of the fixed preamble; the JSON header starts right after it.
    public static let preambleSize = 64
    /// Every entry's offset within the data section is a multiple of this.
    public static let entryAlignment = 64
    /// The data section starts at a multiple of this (16 KiB: a page on every platform we know,
    /// including Apple silicon), so the data can be mapped and wrapped without copying.
    public static let dataAlignment = 16384
    /// Upper bound on the JSON header (it holds configs and chat templates, not tensor data).
    public static let maxHeaderLength: UInt64 = 256 << 20
    /// Upper bound on entry names in bytes.
    public static let maxNameLength = 512
}

/// What an entry of the data section holds.
public enum HKWEntryKind: String, Sendable {
    /// A weight tensor.
    case tensor
    /// An auxiliary file stored verbatim (`tokenizer.json`, `tokenizer.model`, …).
    case file
}

func alignUp(_ value: UInt64, _ alignment: Int) -> UInt64 {
    let a = UInt64(alignment)
    return (value + a - 1) / a * a
}
