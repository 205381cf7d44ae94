import Checkpoints
import Conversion
import Platform
import Testing
import TestSupport
@testable import WeightFormat

@Suite struct HKWArchiveTests {
    /// A converted-looking file with F32, BF16 and odd-sized tensors plus a verbatim file.
    static func sample(_ dir: String) throws -> String {
        let path = dir + "/m.hkw"
        try HKWCopy.write(
            try Checkpoint.open(Fixtures.path("llama3")), to: path,
            metadata: .object([("architecture", .string("llama"))]))
        return path
    }

    @Test func packThenUnpackIsBitExact() throws {
        let dir = Fixtures.temporaryDirectory()
        let path = try Self.sample(dir)
        let packed = try HKWArchive.pack(path: path, out: dir + "/m.hkw.zst", level: 3, threads: 2)
        #expect(packed.ratio > 1)
        let unpacked = try HKWArchive.unpack(path: dir + "/m.hkw.zst", out: dir + "/back.hkw")
        #expect(unpacked.bytesOut == packed.bytesIn)
        #expect(try FileSystem.readFile(dir + "/back.hkw") == FileSystem.readFile(path))
    }

    @Test func bytePlanesRoundTripOnOddLengths() {
        for width in [2, 4] {
            for count in [0, 1, 7, 1000] {
                let bytes = (0..<(count * width)).map { UInt8(truncatingIfNeeded: $0 * 7 + 3) }
                var split: [UInt8] = []
                bytes.withUnsafeBytes { HKWArchive.splitPlanes($0, width: width, into: &split) }
                #expect(HKWArchive.joinPlanes(split, width: width) == bytes)
            }
        }
    }

    @Test func damagedArchivesFailAndLeaveNothing() throws {
        let dir = Fixtures.temporaryDirectory()
        let path = try Self.sample(dir)
        _ = try HKWArchive.pack(path: path, out: dir + "/m.hkw.zst", level: 1, threads: 1)
        let packed = try FileSystem.readFile(dir + "/m.hkw.zst")
        var variants: [[UInt8]] = [Array(packed[0..<(packed.count / 2)]), Array(packed.dropLast(3))]
        var flipped = packed
        flipped[packed.count / 2] ^= 0x40
        variants.append(flipped)
        variants.append(Array("not zstd at all".utf8))
        for (i, bytes) in variants.enumerated() {
            let bad = dir + "/bad\(i).zst"
            let w = try AtomicFileWriter(path: bad)
            try w.write(bytes)
            try w.commit()
            #expect(throws: HKWError.self, "variant \(i)") {
                _ = try HKWArchive.unpack(path: bad, out: dir + "/out\(i).hkw")
            }
            #expect(FileSystem.kind(of: dir + "/out\(i).hkw") == .missing)
        }
        #expect(try FileSystem.contents(of: dir).allSatisfy { !$0.hasPrefix(".") })
    }

    @Test func refusesToOverwriteAndRefusesNonHKW() throws {
        let dir = Fixtures.temporaryDirectory()
        let path = try Self.sample(dir)
        _ = try HKWArchive.pack(path: path, out: dir + "/m.hkw.zst", level: 1, threads: 1)
        #expect(throws: HKWError.self) { _ = try HKWArchive.unpack(path: dir + "/m.hkw.zst", out: path) }
        #expect(throws: HKWError.self) {
            _ = try HKWArchive.pack(path: Fixtures.path("qwen2/model.safetensors"), out: dir + "/x.zst")
        }
        #expect(FileSystem.kind(of: dir + "/x.zst") == .missing)
    }
}
