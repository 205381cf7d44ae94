import Checkpoints
import Crypto
import StrictJSON
import Testing
import TestSupport

/// Every checkpoint fixture reads to exactly what the reference libraries (safetensors,
/// `torch.load(weights_only=True)`) read: names, dtypes, shapes, and f32 values bit for bit
/// (`Tests/Fixtures/inventory.json`, made by `Scripts/gen_inventory.py`).
@Suite struct FixtureInventoryTests {
    static let inventory: [(String, [JSONValue])] = {
        guard let json = try? Fixtures.json("inventory.json"), let members = json["checkpoints"]?.objectMembers else {
            return []
        }
        return members.map { ($0.0, $0.1.arrayValue ?? []) }
    }()

    @Test func inventoryIsPresent() {
        #expect(Self.inventory.count >= 19)
    }

    @Test(arguments: inventory.map(\.0))
    func checkpointMatchesReference(_ relative: String) throws {
        let expected = try #require(Self.inventory.first { $0.0 == relative }?.1)
        let checkpoint = try Checkpoint.open(Fixtures.path(relative))
        #expect(checkpoint.tensors.map(\.name) == expected.compactMap { $0["name"]?.stringValue })
        for (tensor, ref) in zip(checkpoint.tensors, expected) {
            #expect(tensor.dtype.rawValue == ref["dtype"]?.stringValue, "\(tensor.name)")
            #expect(tensor.shape == (ref["shape"]?.arrayValue ?? []).compactMap(\.intValue), "\(tensor.name)")
            let values = try tensor.floats()
            var bytes: [UInt8] = []
            bytes.reserveCapacity(values.count * 4)
            for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
            let digest = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
            #expect(digest == ref["f32_sha256"]?.stringValue, "values of \(tensor.name)")
        }
    }

    @Test func shardedFolderReportsIndexTotalSize() throws {
        let c = try Checkpoint.open(Fixtures.path("llama3"))
        #expect(c.format == .safetensors)
        #expect(c.files.count == 2)
        #expect(c.metadata["total_size"] == String(c.tensors.reduce(0) { $0 + $1.byteCount }))
        #expect(c.config?["rope_theta"]?.doubleValue == 500000)
    }

    @Test func safetensorsTensorsAreZeroCopyViews() throws {
        let c = try Checkpoint.open(Fixtures.path("qwen2"))
        #expect(c.tensors.allSatisfy { $0.isZeroCopy })
        let t = try #require(c.tensor(named: "model.embed_tokens.weight"))
        #expect(t.fileRange?.count == t.byteCount)
    }

    @Test func transposedTorchViewIsMaterialized() throws {
        let c = try Checkpoint.open(Fixtures.path("hostile/ok_noncontiguous.bin"))
        let t = try #require(c.tensor(named: "t"))
        #expect(!t.isZeroCopy)
        #expect(try t.floats() == [0, 3, 1, 4, 2, 5])
    }

    @Test func sharedStorageGivesTwoViews() throws {
        let c = try Checkpoint.open(Fixtures.path("hostile/ok_shared_storage.bin"))
        let a = try #require(c.tensor(named: "tied_a"))
        let b = try #require(c.tensor(named: "tied_b"))
        #expect(try a.floats() == [0, 1, 2, 3, 4, 5])
        #expect(try b.floats() == [6, 7, 8, 9, 10, 11])
    }

    @Test func bigEndianStorageIsByteSwapped() throws {
        let c = try Checkpoint.open(Fixtures.path("hostile/zip_big_endian.bin"))
        let w = try #require(c.tensor(named: "w"))
        #expect(try w.floats() == [1, 2, 3, 4])
    }

    @Test func legacyAndZipDraftsHoldTheSameTensors() throws {
        let zipped = try Checkpoint.open(Fixtures.path("draft_llama2"))
        let legacy = try Checkpoint.open(Fixtures.path("draft_llama2_legacy"))
        #expect(zipped.format == .pytorchZip)
        #expect(legacy.format == .pytorchLegacy)
        #expect(zipped.tensors.map(\.name) == legacy.tensors.map(\.name))
        for (a, b) in zip(zipped.tensors, legacy.tensors) {
            #expect(a.contiguousData().array == b.contiguousData().array, "\(a.name)")
        }
    }
}

extension String {
    init(format: String, _ byte: UInt8) {
        let h = String(byte, radix: 16)
        self = h.count == 1 ? "0" + h : h
    }
}
