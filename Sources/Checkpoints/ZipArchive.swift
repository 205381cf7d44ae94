import Platform

/// The read-only subset of the zip format that PyTorch writes: stored (uncompressed) members,
/// ZIP64 where sizes need it, no encryption, one disk. Members are views into the mapped file.
///
/// Validation is stricter than torch's reader (which trusts the archive): member names must be
/// relative paths without `..` or backslashes, unique, under one top-level folder; sizes come from
/// the central directory and must agree with the local headers; member data must lie before the
/// central directory and must not overlap another member.
struct ZipArchive {
    struct Member {
        var name: String
        var data: ByteView
        var method: UInt16
    }

    let path: String
    /// Members in central-directory order.
    let members: [Member]
    /// The common top-level folder (without the trailing slash).
    let root: String

    init(view: ByteView, path: String) throws(CheckpointError) {
        self.path = path
        func fail(_ m: String) -> CheckpointError { CheckpointError(.invalidZip(m), path: path) }

        // End of central directory: the last 22+ bytes, possibly followed by a comment.
        guard view.count >= 22 else { throw fail("file is \(view.count) bytes, too short for a zip end record") }
        var eocd = -1
        var i = view.count - 22
        let lowest = max(0, view.count - 22 - 0xFFFF)
        while i >= lowest {
            if view.u32(at: i) == 0x0605_4B50 {
                let commentLength = Int(view.u16(at: i + 20) ?? 0)
                if i + 22 + commentLength == view.count {
                    eocd = i
                    break
                }
            }
            i -= 1
        }
        guard eocd >= 0 else { throw fail("no end-of-central-directory record (truncated or not a zip)") }
        guard let disk = view.u16(at: eocd + 4), let cdDisk = view.u16(at: eocd + 6),
            let entries16 = view.u16(at: eocd + 10), let cdSize32 = view.u32(at: eocd + 12),
            let cdOffset32 = view.u32(at: eocd + 16)
        else { throw fail("truncated end record") }
        guard disk == 0, cdDisk == 0 else { throw fail("multi-disk archives are not supported") }
        var entryCount = UInt64(entries16)
        var cdSize = UInt64(cdSize32)
        var cdOffset = UInt64(cdOffset32)
        var cdLimit = UInt64(eocd)
        if entries16 == 0xFFFF || cdSize32 == 0xFFFF_FFFF || cdOffset32 == 0xFFFF_FFFF {
            let locator = eocd - 20
            guard locator >= 0, view.u32(at: locator) == 0x0706_4B50, let z64 = view.u64(at: locator + 8) else {
                throw fail("ZIP64 values without a ZIP64 locator")
            }
            guard z64 < UInt64(locator), view.u32(at: Int(z64)) == 0x0606_4B50,
                let n = view.u64(at: Int(z64) + 32), let size = view.u64(at: Int(z64) + 40),
                let offset = view.u64(at: Int(z64) + 48)
            else { throw fail("invalid ZIP64 end record") }
            entryCount = n
            cdSize = size
            cdOffset = offset
            cdLimit = z64
        }
        let (cdEnd, o) = cdOffset.addingReportingOverflow(cdSize)
        guard !o, cdEnd <= cdLimit else {
            throw fail("central directory [\(cdOffset), \(cdOffset &+ cdSize)) runs past its end record at \(cdLimit)")
        }
        guard entryCount <= cdSize / 46 else {
            throw fail("\(entryCount) entries cannot fit a \(cdSize)-byte central directory")
        }

        var members: [Member] = []
        var names = Set<String>()
        var ranges: [(Range<Int>, String)] = []
        var p = Int(cdOffset)
        for _ in 0..<entryCount {
            guard view.u32(at: p) == 0x0201_4B50 else {
                throw fail("bad central directory entry signature at byte \(p)")
            }
            guard let flags = view.u16(at: p + 8), let method = view.u16(at: p + 10),
                let comp32 = view.u32(at: p + 20), let uncomp32 = view.u32(at: p + 24),
                let nameLen = view.u16(at: p + 28), let extraLen = view.u16(at: p + 30),
                let commentLen = view.u16(at: p + 32), let lho32 = view.u32(at: p + 42)
            else {
                throw fail("truncated central directory entry at byte \(p)")
            }
            let entryEnd = p + 46 + Int(nameLen) + Int(extraLen) + Int(commentLen)
            guard UInt64(entryEnd) <= cdEnd, let nameBytes = view.bytes(start: p + 46, length: Int(nameLen)) else {
                throw fail("central directory entry at byte \(p) runs past the directory")
            }
            guard flags & 0x0001 == 0 else { throw fail("encrypted member") }
            guard let name = String(validating: nameBytes, as: UTF8.self) else {
                throw fail("member name is not UTF-8")
            }
            var comp = UInt64(comp32)
            var uncomp = UInt64(uncomp32)
            var lho = UInt64(lho32)
            if comp32 == 0xFFFF_FFFF || uncomp32 == 0xFFFF_FFFF || lho32 == 0xFFFF_FFFF {
                // ZIP64 extra field: the 64-bit values present are those whose 32-bit field is saturated.
                var e = p + 46 + Int(nameLen)
                let extraEnd = e + Int(extraLen)
                var found = false
                while e + 4 <= extraEnd {
                    guard let id = view.u16(at: e), let len = view.u16(at: e + 2) else { break }
                    if id == 0x0001 {
                        var q = e + 4
                        if uncomp32 == 0xFFFF_FFFF { guard let v = view.u64(at: q) else { break }; uncomp = v; q += 8 }
                        if comp32 == 0xFFFF_FFFF { guard let v = view.u64(at: q) else { break }; comp = v; q += 8 }
                        if lho32 == 0xFFFF_FFFF { guard let v = view.u64(at: q) else { break }; lho = v; q += 8 }
                        guard q <= e + 4 + Int(len) else { throw fail("short ZIP64 extra field for \(quoted(name))") }
                        found = true
                        break
                    }
                    e += 4 + Int(len)
                }
                guard found else { throw fail("member \(quoted(name)) needs a ZIP64 extra field") }
            }
            guard ZipArchive.isSafeMemberName(name) else { throw CheckpointError(.unsafeMemberName(name), path: path) }
            guard names.insert(name).inserted else { throw CheckpointError(.duplicateMember(name), path: path) }

            // Local header: the data starts after its own name and extra field.
            guard lho < cdOffset, view.u32(at: Int(lho)) == 0x0403_4B50,
                let localNameLen = view.u16(at: Int(lho) + 26), let localExtraLen = view.u16(at: Int(lho) + 28),
                let localName = view.bytes(start: Int(lho) + 30, length: Int(localNameLen))
            else {
                throw fail("member \(quoted(name)) has no valid local header at byte \(lho)")
            }
            guard localName == nameBytes else {
                throw fail("local header name of \(quoted(name)) disagrees with the central directory")
            }
            let dataStart = UInt64(lho) + 30 + UInt64(localNameLen) + UInt64(localExtraLen)
            let (dataEnd, o2) = dataStart.addingReportingOverflow(comp)
            guard !o2, dataEnd <= cdOffset, let data = view.slice(start: Int(dataStart), length: Int(comp)) else {
                throw fail(
                    "member \(quoted(name)) claims \(comp) bytes at \(dataStart), past the central directory at \(cdOffset)"
                )
            }
            if method == 0 {
                guard comp == uncomp else {
                    throw fail("stored member \(quoted(name)) has sizes \(comp) and \(uncomp)")
                }
            }
            ranges.append((Int(lho)..<Int(dataEnd), name))
            members.append(Member(name: name, data: data, method: method))
            p = entryEnd
        }
        ranges.sort { $0.0.lowerBound < $1.0.lowerBound }
        for k in ranges.indices.dropFirst() where ranges[k].0.lowerBound < ranges[k - 1].0.upperBound {
            throw fail("members \(quoted(ranges[k - 1].1)) and \(quoted(ranges[k].1)) overlap")
        }
        guard let first = members.first else { throw fail("archive is empty") }
        guard let slash = first.name.firstIndex(of: "/") else {
            throw fail("first member \(quoted(first.name)) is not inside a folder")
        }
        let root = String(first.name[..<slash])
        for m in members where !m.name.hasPrefix(root + "/") {
            throw CheckpointError(.unsafeMemberName("\(m.name) (outside the archive folder \(root)/)"), path: path)
        }
        self.members = members
        self.root = root
    }

    /// The member `root/relative`, which must be stored uncompressed.
    func record(_ relative: String) throws(CheckpointError) -> ByteView? {
        let full = root + "/" + relative
        guard let m = members.first(where: { $0.name == full }) else { return nil }
        guard m.method == 0 else { throw CheckpointError(.compressedRecord(full), path: path) }
        return m.data
    }

    static func isSafeMemberName(_ name: String) -> Bool {
        guard !name.isEmpty, !name.hasPrefix("/"), !name.contains("\\"), !name.contains("\0") else { return false }
        return !name.split(separator: "/", omittingEmptySubsequences: false).contains { $0 == ".." || $0 == "." }
    }
}
