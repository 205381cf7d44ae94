import Conversion
import Inference
import StrictJSON
import Testing
import TestSupport
import WeightFormat

/// A header whose config disagrees with its tensors is refused when the model opens, naming the
/// tensor, instead of indexing out of bounds while generating.
@Suite struct ShapeCheckTests {
    /// `source` rewritten with `edit` applied to its config.
    static func rewrite(_ source: String, to path: String, edit: (inout [(String, JSONValue)]) -> Void) throws {
        let f = try HKWFile(path: source)
        var members = f.metadata.objectMembers ?? []
        let i = try #require(members.firstIndex { $0.0 == "config" })
        var config = members[i].1.objectMembers ?? []
        edit(&config)
        members[i].1 = .object(config)
        let entries = f.tensors.map { HKWWriter.Entry.tensor($0.name, type: $0.type ?? .f32, shape: $0.shape) }
        let w = try HKWWriter(path: path, metadata: .object(members), entries: entries)
        for t in f.tensors {
            try w.append(t.data)
            try w.finishEntry()
        }
        try w.commit()
    }

    static func set(_ key: String, _ value: Int) -> (inout [(String, JSONValue)]) -> Void {
        { config in
            if let j = config.firstIndex(where: { $0.0 == key }) { config[j].1 = .int(value) }
        }
    }

    @Test func baseWithAWrongIntermediateSizeIsRefused() throws {
        let dir = Fixtures.temporaryDirectory()
        _ = try Converter.convert(source: Fixtures.path("llama3"), out: dir + "/b.hkw", options: .init(type: .f32))
        let base = try LlamaModel(path: dir + "/b.hkw", threads: 1)
        try Self.rewrite(
            dir + "/b.hkw", to: dir + "/bad.hkw", edit: Self.set("intermediate_size", base.config.intermediate + 2))
        #expect { try LlamaModel(path: dir + "/bad.hkw", threads: 1) } throws: { error in
            "\(error)".contains("blk.0.ffn_gate.weight is \(base.config.intermediate)×\(base.config.hidden)")
        }
        try Self.rewrite(dir + "/b.hkw", to: dir + "/bad2.hkw", edit: Self.set("vocab_size", base.config.vocab + 1))
        #expect(throws: InferenceError.self) { try LlamaModel(path: dir + "/bad2.hkw", threads: 1) }
    }

    @Test func headWithWrongHeadCountIsRefused() throws {
        let dir = Fixtures.temporaryDirectory()
        _ = try Converter.convert(source: Fixtures.path("llama3"), out: dir + "/b.hkw", options: .init(type: .f32))
        _ = try Converter.convert(
            source: Fixtures.path("draft_llama3"), out: dir + "/d.hkw", options: .init(type: .f32))
        let base = try LlamaModel(path: dir + "/b.hkw", threads: 1)
        let head = try DraftHead(path: dir + "/d.hkw", base: base)
        try Self.rewrite(dir + "/d.hkw", to: dir + "/bad.hkw", edit: Self.set("num_kv_heads", head.config.heads))
        #expect { try DraftHead(path: dir + "/bad.hkw", base: base) } throws: { error in
            "\(error)".contains("blk.0.attn_k.weight")
        }
    }
}
