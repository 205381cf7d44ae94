/// A bounds-checked, zero-copy window onto `ByteStorage`.
///
/// Every accessor checks its range with overflow-safe arithmetic and returns `nil` when it falls
/// outside the view, so parsers can turn a bad offset read from a file into their own error
/// instead of trapping.
public struct ByteView: Sendable {
    /// The storage this view keeps alive.
    public let storage: ByteStorage
    /// Offset of the first byte of the view within the storage.
    public let offset: Int
    /// Number of bytes in the view.
    public let count: Int

    init(storage: ByteStorage, offset: Int, count: Int) {
        self.storage = storage
        self.offset = offset
        self.count = count
    }

    /// An in-memory view of `bytes` (tests and materialised data).
    public init(_ bytes: [UInt8], label: String = "<memory>") {
        let s = ByteStorage(copying: bytes, label: label)
        self.init(storage: s, offset: 0, count: bytes.count)
    }

    public var isEmpty: Bool { count == 0 }

    /// True when `[start, start+length)` lies inside the view (no overflow possible).
    public func contains(start: Int, length: Int) -> Bool {
        guard start >= 0, length >= 0, start <= count else { return false }
        return length <= count - start
    }

    /// The sub-view `[start, start+length)`, or nil when it is out of range.
    public func slice(start: Int, length: Int) -> ByteView? {
        guard contains(start: start, length: length) else { return nil }
        return ByteView(storage: storage, offset: offset + start, count: length)
    }

    /// The sub-view from `start` to the end, or nil when `start` is past the end.
    public func suffix(from start: Int) -> ByteView? {
        guard start >= 0, start <= count else { return nil }
        return ByteView(storage: storage, offset: offset + start, count: count - start)
    }

    /// Calls `body` with a pointer to the view's bytes. The pointer must not escape `body`.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try storage.withUnsafeBytes(offset: offset, count: count, body)
    }

    /// Tells the kernel the view's pages will not be needed again soon (`madvise(MADV_DONTNEED)` on
    /// the whole pages inside the view). For a read-only file mapping this only drops them from
    /// this process's resident set; touching them again reads them back from the page cache.
    /// Streaming converters call it after each tensor so resident memory stays bounded.
    public func releasePages() {
        storage.releasePages(offset: offset, count: count)
    }

    /// The byte at `index`, or nil when out of range.
    public func u8(at index: Int) -> UInt8? {
        guard contains(start: index, length: 1) else { return nil }
        return withUnsafeBytes { $0[index] }
    }

    /// A little-endian integer of type `T` at `index`, or nil when out of range.
    public func load<T: FixedWidthInteger>(littleEndian type: T.Type, at index: Int) -> T? {
        let size = MemoryLayout<T>.size
        guard contains(start: index, length: size) else { return nil }
        return withUnsafeBytes { raw in
            T(littleEndian: raw.loadUnaligned(fromByteOffset: index, as: T.self))
        }
    }

    public func u16(at index: Int) -> UInt16? { load(littleEndian: UInt16.self, at: index) }
    public func u32(at index: Int) -> UInt32? { load(littleEndian: UInt32.self, at: index) }
    public func u64(at index: Int) -> UInt64? { load(littleEndian: UInt64.self, at: index) }

    /// A copy of `[start, start+length)`, or nil when out of range.
    public func bytes(start: Int, length: Int) -> [UInt8]? {
        guard contains(start: start, length: length) else { return nil }
        return withUnsafeBytes { Array($0[start..<(start + length)]) }
    }

    /// A copy of the whole view.
    public var array: [UInt8] { withUnsafeBytes { Array($0) } }

    /// True when the bytes at `index` equal `prefix`.
    public func hasBytes(_ prefix: [UInt8], at index: Int = 0) -> Bool {
        guard contains(start: index, length: prefix.count) else { return false }
        return withUnsafeBytes { raw in
            for (i, b) in prefix.enumerated() where raw[index + i] != b { return false }
            return true
        }
    }

    /// Index of the first occurrence of `byte` at or after `start`, or nil.
    public func firstIndex(of byte: UInt8, from start: Int) -> Int? {
        guard start >= 0, start < count else { return nil }
        return withUnsafeBytes { raw in
            var i = start
            while i < raw.count {
                if raw[i] == byte { return i }
                i += 1
            }
            return nil
        }
    }
}
