import Checkpoints
import Conversion
import Platform
import Quantization
import StrictJSON
import Testing
import TestSupport
import WeightFormat

@Suite struct HKWRoundTripTests {
    static func floatsBytes(_ values: [Float]) -> [UInt8] {
        var out: [UInt8] = []
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
        return out
    }

    /// Writes a small file: two tensors (one streamed in chunks, one empty) and a verbatim file.
    /// `role`, `tokenizer` and `qByte` vary the sample: metadata, a verbatim file, a weight byte.
    static func writeSample(
        to path: String, role: String = "base", tokenizer: String = "{\"k\": true}", qByte: UInt8 = 7
    ) throws {
        let w = try HKWWriter(
            path: path, metadata: .object([("architecture", .string("llama")), ("role", .string(role))]),
            entries: [
                .tensor("a", type: .f32, shape: [3, 5]),
                .file("tokenizer.json", length: tokenizer.utf8.count),
                .tensor("empty", type: .bf16, shape: [0, 4]),
                .tensor("q", type: .q8_0, shape: [2, 32]),
            ])
        let a = floatsBytes((0..<15).map { Float($0) / 2 })
        try w.append(Array(a[0..<20]))
        try w.append(Array(a[20...]))
        try w.finishEntry()
        try w.append(Array(tokenizer.utf8))
        try w.finishEntry()
        try w.finishEntry()
        try w.append([UInt8](repeating: qByte, count: 68))
        try w.finishEntry()
        try w.commit()
    }

    @Test func writeThenReadBack() throws {
        let dir = Fixtures.temporaryDirectory()
        let path = dir + "/model.hkw"
        try Self.writeSample(to: path)
        let f = try HKWFile(path: path)
        #expect(f.metadata["architecture"]?.stringValue == "llama")
        #expect(f.tensors.map(\.name) == ["a", "empty", "q"])
        let a = try #require(f.tensor(named: "a"))
        #expect(a.type == .f32 && a.shape == [3, 5])
        #expect(a.data.array == Self.floatsBytes((0..<15).map { Float($0) / 2 }))
        #expect(f.tensor(named: "empty")?.length == 0)
        #expect(f.tensor(named: "q")?.data.array == [UInt8](repeating: 7, count: 68))
        #expect(f.file(named: "tokenizer.json")?.data.array == Array("{\"k\": true}".utf8))
        for e in f.tensors + f.files { #expect(e.offset % 64 == 0) }
        #expect(f.dataOffset % 16384 == 0)
        try f.verifyChecksums()
        // Nothing but the final file is left in the folder.
        #expect(try FileSystem.contents(of: dir) == ["model.hkw"])
    }

    /// Same weights with other metadata and another tokenizer: the same content hash; one weight
    /// byte changed: another.
    @Test func contentHashDependsOnWeightsOnly() throws {
        let dir = Fixtures.temporaryDirectory()
        try Self.writeSample(to: dir + "/one.hkw")
        try Self.writeSample(to: dir + "/two.hkw", role: "draft", tokenizer: "{\"other\": [1, 2, 3]}")
        try Self.writeSample(to: dir + "/three.hkw", qByte: 8)
        let one = try HKWFile(path: dir + "/one.hkw")
        let two = try HKWFile(path: dir + "/two.hkw")
        let three = try HKWFile(path: dir + "/three.hkw")
        #expect(try FileSystem.readFile(dir + "/one.hkw") != FileSystem.readFile(dir + "/two.hkw"))
        #expect(one.contentHash == two.contentHash)
        #expect(one.contentHash != three.contentHash)
        #expect(one.contentHash.count == 64)
    }

    @Test func corruptedDataFailsVerification() throws {
        let dir = Fixtures.temporaryDirectory()
        try Self.writeSample(to: dir + "/m.hkw")
        var bytes = try FileSystem.readFile(dir + "/m.hkw")
        let f = try HKWFile(path: dir + "/m.hkw")
        let q = try #require(f.tensor(named: "q"))
        bytes[Int(f.dataOffset + q.offset)] ^= 0xFF
        let tampered = try HKWFile(view: ByteView(bytes), path: "tampered.hkw")
        #expect(throws: HKWError.self) { try tampered.verifyChecksums() }
    }

    @Test func abandonedWriterLeavesNothing() throws {
        let dir = Fixtures.temporaryDirectory()
        do {
            let w = try HKWWriter(
                path: dir + "/x.hkw", metadata: .object([]), entries: [.tensor("a", type: .f32, shape: [4])])
            try w.append([1, 2, 3, 4])
        }
        #expect(try FileSystem.contents(of: dir).isEmpty)
    }

    @Test func existingFileSurvivesAFailedWrite() throws {
        let dir = Fixtures.temporaryDirectory()
        let path = dir + "/m.hkw"
        try Self.writeSample(to: path)
        let before = try FileSystem.readFile(path)
        do {
            let w = try HKWWriter(path: path, metadata: .object([]), entries: [.tensor("a", type: .f32, shape: [4])])
            try w.append([UInt8](repeating: 0, count: 8))
            #expect(throws: HKWError.self) { try w.commit() }
        }
        #expect(try FileSystem.readFile(path) == before)
    }

    @Test func planErrorsAreReported() throws {
        let dir = Fixtures.temporaryDirectory()
        #expect(throws: HKWError.self) {
            _ = try HKWWriter(
                path: dir + "/a.hkw", metadata: .object([]), entries: [.tensor("q", type: .q4_k, shape: [4, 100])])
        }
        #expect(throws: HKWError.self) {
            _ = try HKWWriter(
                path: dir + "/b.hkw", metadata: .object([]), entries: [.tensor("", type: .f32, shape: [1])])
        }
        #expect(throws: HKWError.self) {
            _ = try HKWWriter(
                path: dir + "/c.hkw", metadata: .object([]),
                entries: [.tensor("a", type: .f32, shape: [1]), .tensor("a", type: .f32, shape: [1])])
        }
        let w = try HKWWriter(
            path: dir + "/d.hkw", metadata: .object([]), entries: [.tensor("a", type: .f32, shape: [1])])
        #expect(throws: HKWError.self) { try w.append([UInt8](repeating: 0, count: 8)) }
    }

    @Test func copyOfACheckpointKeepsEveryByte() throws {
        let dir = Fixtures.temporaryDirectory()
        let source = try Checkpoint.open(Fixtures.path("llama3"))
        try HKWCopy.write(source, to: dir + "/llama3.hkw", metadata: .object([("architecture", .string("llama"))]))
        let f = try HKWFile(path: dir + "/llama3.hkw")
        #expect(f.tensors.map(\.name) == source.tensors.map(\.name))
        for (t, s) in zip(f.tensors, source.tensors) {
            #expect(t.type?.rawValue == s.dtype.rawValue)
            #expect(t.shape == s.shape)
            #expect(t.data.array == s.contiguousData().array)
        }
        try f.verifyChecksums()
    }
}

/// Truncations and byte flips of a valid `.hkw` never crash the reader.
@Suite struct HKWMutationTests {
    @Test func everyTruncationAndRandomFlips() throws {
        let dir = Fixtures.temporaryDirectory()
        try HKWRoundTripTests.writeSample(to: dir + "/m.hkw")
        let bytes = try FileSystem.readFile(dir + "/m.hkw")
        // The interesting bytes are the preamble and header; truncate within them and at the tail.
        let f = try HKWFile(path: dir + "/m.hkw")
        let headerEnd = 64 + Int(f.headerLength)
        for n in Array(0..<headerEnd) + Array(bytes.count - 200..<bytes.count) {
            #expect(throws: HKWError.self) { _ = try HKWFile(view: ByteView(Array(bytes[0..<n])), path: "t") }
        }
        var state: UInt64 = 12345
        for _ in 0..<3000 {
            var m = bytes
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let i = Int((state >> 33) % UInt64(headerEnd))
            m[i] = UInt8(truncatingIfNeeded: state >> 13)
            if let g = try? HKWFile(view: ByteView(m), path: "flip") {
                for t in g.tensors { _ = t.data.count }
            }
        }
    }
}

extension HKWRoundTripTests {
    /// A row-interleaved tensor must be a matrix of whole groups of 8 rows; the writer (and the
    /// reader, through the same check) names the tensor and the shape, and writes nothing.
    @Test func interleavedTypesNeedWholeGroupsOfRows() throws {
        let dir = Fixtures.temporaryDirectory()
        for shape in [[12, 32], [32]] {
            do {
                _ = try HKWWriter(
                    path: dir + "/x.hkw", metadata: .object([]), entries: [.tensor("w", type: .q4_0_r8, shape: shape)])
                Issue.record("Q4_0_R8 \(shape) was accepted")
            } catch {
                #expect("\(error)".contains("w") && "\(error)".contains("multiple of 8 rows"), "\(error)")
            }
        }
        #expect(try FileSystem.contents(of: dir).isEmpty)
        _ = try HKWWriter(
            path: dir + "/ok.hkw", metadata: .object([]), entries: [.tensor("w", type: .q4_0_r8, shape: [16, 32])])
    }
}
