import Checkpoints
import Foundation
import Platform
import StrictJSON
import Testing
import TestSupport

/// GGUF as an input format: ggml's block types decode bit for bit as gguf-py decodes them
/// (`Scripts/gen_gguf_refs.py`), a llama GGUF reads as its HF checkpoint (names, the Q/K rows
/// llama.cpp permutes put back, the config), and hostile files are refused, never a crash.
@Suite struct GGUFTests {
    @Test func blockTypesDecodeAsGGUFPy() throws {
        let types = try #require(try Fixtures.json("refs/ggml_blocks.json")["types"]?.objectMembers)
        #expect(types.count == 10)
        for (name, entry) in types {
            let dtype = try #require(DType(rawValue: name), "\(name)")
            let type = try #require(dtype.ggmlBlock)
            let hex = try #require(entry["blocks_hex"]?.stringValue)
            let bytes = try #require(Hex.decode(hex))
            let expected = (entry["f32_bits"]?.arrayValue ?? []).compactMap { $0.uint64Value.map { UInt32($0) } }
            let count = bytes.count / type.blockBytes * type.blockElements
            #expect(expected.count == count)
            let values = bytes.withUnsafeBytes { GGMLBlocks.dequantize($0, type, count: count) }
            #expect(values.map(\.bitPattern) == expected, "\(name)")
        }
    }

    @Test func llamaGGUFReadsAsItsHFCheckpoint() throws {
        let (image, hf) = GGUFBuilder.tinyLlama()
        let dir = Fixtures.temporaryDirectory()
        try Data(image).write(to: URL(fileURLWithPath: dir + "/m.gguf"))
        let c = try Checkpoint.open(dir + "/m.gguf")
        #expect(c.format == .gguf)
        #expect(Set(c.tensors.map(\.name)) == Set(hf.keys))
        for t in c.tensors { #expect(try t.floats() == hf[t.name], "\(t.name)") }
        #expect(c.config?["num_key_value_heads"]?.intValue == 2)
        #expect(c.config?["tie_word_embeddings"]?.boolValue == true)
        #expect(c.config?["vocab_size"]?.intValue == 40)
        let files = Dictionary(uniqueKeysWithValues: c.generatedFiles.map { ($0.0, $0.1) })
        #expect(Set(files.keys) == ["config.json", "tokenizer.json", "tokenizer_config.json"])
        let config = try JSONParser().parse(try #require(files["tokenizer_config.json"]))
        #expect(config["chat_template"]?.stringValue == "{{ messages[0]['content'] }}")
        #expect(config["bos_token"]?.stringValue == "<s>")
    }

    /// Damage at every field of a valid file, and hand-made hostile headers: each is a
    /// `CheckpointError`, none a crash.
    @Test func hostileGGUFsAreRefused() throws {
        let (image, _) = GGUFBuilder.tinyLlama()
        let dir = Fixtures.temporaryDirectory()
        func refused(_ bytes: [UInt8], _ label: String) {
            let path = dir + "/h.gguf"
            try? Data(bytes).write(to: URL(fileURLWithPath: path))
            #expect(throws: CheckpointError.self, "\(label)") { _ = try Checkpoint.open(path) }
        }
        func u64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        // Truncations, through the header and into the data.
        for cut in [3, 4, 8, 16, 24, 40, 100, 400, 1000, image.count / 2, image.count - 1] {
            refused(Array(image.prefix(cut)), "cut at \(cut)")
        }
        var v = image
        v[4] = 1
        refused(v, "version 1")
        v = image
        v.replaceSubrange(8..<16, with: u64(1 << 40))
        refused(v, "2^40 tensors")
        v = image
        v.replaceSubrange(16..<24, with: u64(UInt64.max))
        refused(v, "2^64 metadata entries")
        v = image
        v.replaceSubrange(24..<32, with: u64(UInt64.max - 3))
        refused(v, "a key longer than the file")
        // Hand-made: each one field wrong.
        var b = GGUFBuilder()
        b.metadata = [("general.architecture", .string("llama")), ("general.alignment", .u32(48))]
        refused(b.build(), "alignment 48")
        b = GGUFBuilder()
        b.metadata = [("a", .u32(1)), ("a", .u32(2))]
        refused(b.build(), "a key twice")
        b = GGUFBuilder()
        b.tensors = [("x", [2, 30], 8, [UInt8](repeating: 0, count: 68))]
        refused(b.build(), "Q8_0 rows of 30")
        b.tensors = [("x", [4], 99, [UInt8](repeating: 0, count: 16))]
        refused(b.build(), "ggml type 99")
        b.tensors = [("x", [4], 0, [UInt8](repeating: 0, count: 16)), ("x", [4], 0, [UInt8](repeating: 0, count: 16))]
        refused(b.build(), "a name twice")
        b.tensors = [("x", [64], 0, [UInt8](repeating: 0, count: 8))]
        refused(b.build(), "data past the end")
        // Two tensors at the same offset: overlapping.
        b.tensors = [("x", [8], 0, [UInt8](repeating: 0, count: 32)), ("y", [8], 0, [UInt8](repeating: 0, count: 32))]
        var overlap = b.build()
        if let at = findLast(Array("y".utf8) + [1, 0, 0, 0], in: overlap) {
            // name, n_dims (1), dim, type, offset: point y's offset at x's bytes.
            let offsetAt = at + 5 + 8 + 4
            overlap.replaceSubrange(offsetAt..<(offsetAt + 8), with: u64(0))
        }
        refused(overlap, "overlapping tensors")
        // Nested arrays and unknown value types.
        var raw = Array("GGUF".utf8) + [3, 0, 0, 0] + u64(0) + u64(1) + u64(1) + Array("k".utf8)
        refused(raw + [9, 0, 0, 0] + [9, 0, 0, 0] + u64(1), "an array of arrays")
        refused(raw + [13, 0, 0, 0], "value type 13")
        refused(raw + [7, 0, 0, 0] + [2], "a bool of 2")
        raw = Array("GGUF".utf8) + [3, 0, 0, 0] + u64(0) + u64(1) + u64(1) + [0xFF]
        refused(raw + [4, 0, 0, 0, 0, 0, 0, 0], "a key that is not UTF-8")
    }

    func findLast(_ needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard hay.count >= needle.count else { return nil }
        for i in stride(from: hay.count - needle.count, through: 0, by: -1)
        where Array(hay[i..<(i + needle.count)]) == needle {
            return i
        }
        return nil
    }
}
