import CKernels
import Checkpoints
import Foundation
import Conversion
import Platform
import Quantization
import StrictJSON
import Testing
import TestSupport
import WeightFormat

/// Converting every fixture at every type, and reading the result back against the source values.
@Suite struct ConversionTests {
    static let sources = [
        "llama3", "llama2", "qwen2", "deepseek_v3", "draft_llama2", "draft_llama2_legacy", "draft_llama3",
        "draft_qwen2",
    ]

    /// Largest relative RMS error accepted per output type (documented in docs/FORMAT.md).
    static let tolerance: [QuantType: Double] = [
        .f32: 0, .f16: 1e-3, .bf16: 4e-3, .q8_0: 1e-2, .q4_0: 0.12, .q5_0: 0.06, .q5_1: 0.06, .q4_k: 0.12, .q5_k: 0.06,
        .q6_k: 0.03, .f8e4m3: 0.04,
    ]

    struct Case: CustomTestStringConvertible, Sendable {
        var source: String
        var type: ConversionType
        var testDescription: String { "\(source) → \(type.rawValue)" }
    }

    static let cases = sources.flatMap { s in ConversionType.allCases.map { Case(source: s, type: $0) } }

    /// Source values of a canonical tensor, dequantizing FP8 with its scale.
    static func sourceValues(_ checkpoint: Checkpoint, _ name: String) throws -> [Float] {
        let t = try #require(checkpoint.tensor(named: name))
        if t.dtype == .f8e4m3, let s = checkpoint.tensor(named: FP8BlockScale.scaleName(for: name)) {
            return try FP8BlockScale.dequantize(weight: t, scale: s)
        }
        return try t.floats()
    }

    static func decoded(_ f: HKWFile, _ e: HKWFile.Entry) throws -> [Float] {
        let n = e.shape.reduce(1, *)
        if e.type == .f8e4m3 {
            let scaleEntry = try #require(f.tensor(named: e.name + "_scale_inv"))
            let block = 128
            let columns = e.shape[1]
            let scale = try #require(
                scaleEntry.data.withUnsafeBytes { Quantizer.decode($0, as: .f32, count: scaleEntry.shape.reduce(1, *)) }
            )
            let codes = e.data.array
            let scaleColumns = (columns + block - 1) / block
            return (0..<n).map { i in
                F8E4M3.decode(codes[i]) * scale[(i / columns / block) * scaleColumns + (i % columns) / block]
            }
        }
        let type = try #require(e.type)
        if e.shape.count == 2 {
            return try #require(
                e.data.withUnsafeBytes { Quantizer.decode($0, as: type, rows: e.shape[0], cols: e.shape[1]) })
        }
        return try #require(e.data.withUnsafeBytes { Quantizer.decode($0, as: type, count: n) })
    }

    @Test(arguments: cases)
    func convertsAndReadsBack(_ c: Case) throws {
        let dir = Fixtures.temporaryDirectory()
        let out = dir + "/out.hkw"
        let report = try Converter.convert(source: Fixtures.path(c.source), out: out, options: .init(type: c.type))
        let f = try HKWFile(path: out)
        try f.verifyChecksums()
        let checkpoint = try Checkpoint.open(Fixtures.path(c.source))
        let quality = try #require(f.metadata["quality"])
        #expect(f.metadata["architecture"]?.stringValue == report.family.rawValue)
        #expect(f.metadata["provenance"]?["files"]?.arrayValue?.first?["sha256"]?.stringValue?.count == 64)
        var checked = 0
        for e in f.tensors where !e.name.hasSuffix("_scale_inv") {
            let sourceName = try #require(quality[e.name]?["source"]?.stringValue, "\(e.name) has no source")
            let expected = try Self.sourceValues(checkpoint, sourceName)
            let got = try Self.decoded(f, e)
            #expect(got.count == expected.count, "\(e.name)")
            let type = try #require(e.type)
            let src = try #require(checkpoint.tensor(named: sourceName))
            var sse = 0.0
            var ssx = 0.0
            for (a, b) in zip(got, expected) {
                sse += Double(a - b) * Double(a - b)
                ssx += Double(b) * Double(b)
            }
            let rel = ssx > 0 ? (sse / ssx).squareRoot() : sse
            // Exact when the output type holds the source type (or the FP8 codes are copied).
            let lossless =
                type == .f32 || type.rawValue == src.dtype.rawValue || (type == .f8e4m3 && src.dtype == .f8e4m3)
                || (type == .f16 && src.dtype == .f16) || (type == .bf16 && src.dtype == .bf16)
            if lossless {
                #expect(got.map(\.bitPattern) == expected.map(\.bitPattern), "\(e.name) should be exact")
            } else {
                #expect(
                    rel <= Self.tolerance[type.interleavedBase ?? type] ?? 0,
                    "\(e.name) \(type.rawValue): rel RMSE \(rel)")
                if let recorded = quality[e.name]?["rel_rmse"]?.doubleValue {
                    #expect(
                        abs(recorded - rel) <= 1e-6 + rel * 1e-3, "\(e.name): recorded \(recorded), measured \(rel)")
                }
            }
            checked += 1
        }
        #expect(checked > 0)
        #expect(report.maxRelRMSE <= ([.q4_0, .q4_k, .q4_k_m].contains(c.type) ? 0.12 : c.type == .q5_0 ? 0.06 : 0.04))
        // The folder holds only the finished file.
        #expect(try FileSystem.contents(of: dir) == ["out.hkw"])
    }

    /// A generated LLaMA-shaped checkpoint whose rows fit K-quant blocks (hidden 256, 4 layers).
    static func kquantCheckpoint() throws -> String {
        let dir = Fixtures.temporaryDirectory("hasskit-kquant")
        var b = SafetensorsBuilder()
        var state: UInt64 = 11
        func values(_ n: Int) -> [Float] {
            (0..<n).map { _ in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return Float(Int32(truncatingIfNeeded: state >> 32)) / Float(Int32.max) * 0.05
            }
        }
        let h = 256, ffn = 512, vocab = 64
        b.add("model.embed_tokens.weight", shape: [vocab, h], floats: values(vocab * h))
        b.add("lm_head.weight", shape: [vocab, h], floats: values(vocab * h))
        b.add("model.norm.weight", shape: [h], floats: values(h))
        for i in 0..<4 {
            let p = "model.layers.\(i)."
            for k in ["q", "k", "v", "o"] {
                b.add(p + "self_attn.\(k)_proj.weight", shape: [h, h], floats: values(h * h))
            }
            b.add(p + "mlp.gate_proj.weight", shape: [ffn, h], floats: values(ffn * h))
            b.add(p + "mlp.up_proj.weight", shape: [ffn, h], floats: values(ffn * h))
            b.add(p + "mlp.down_proj.weight", shape: [h, ffn], floats: values(ffn * h))
            b.add(p + "input_layernorm.weight", shape: [h], floats: values(h))
            b.add(p + "post_attention_layernorm.weight", shape: [h], floats: values(h))
        }
        let w = try AtomicFileWriter(path: dir + "/model.safetensors")
        try w.write(b.build())
        try w.commit()
        let config =
            "{\"architectures\": [\"LlamaForCausalLM\"], \"hidden_size\": 256, \"num_attention_heads\": 2, "
            + "\"num_key_value_heads\": 2, \"num_hidden_layers\": 4, \"intermediate_size\": 512, \"vocab_size\": 64, \"rms_norm_eps\": 1e-5}"
        let c = try AtomicFileWriter(path: dir + "/config.json")
        try c.write(Array(config.utf8))
        try c.commit()
        return dir
    }

    /// llama.cpp's `llama_tensor_get_type` for the output head at every 4-bit type: Q6_K, or
    /// Q8_0 where its rows are not a multiple of 256; the token embedding keeps the chosen type
    /// unless it is the (tied) output head.
    @Test func outputHeadGetsMoreBitsAsInLlamaCpp() throws {
        let wide = try Self.kquantCheckpoint()  // rows of 256
        let out = Fixtures.temporaryDirectory() + "/m.hkw"
        for type in [ConversionType.q4_0, .q4_k] {
            _ = try Converter.convert(source: wide, out: out, options: .init(type: type, force: true))
            let f = try HKWFile(path: out)
            #expect(f.tensor(named: "output.weight")?.type == .q6_k_r8, "\(type)")
            #expect(f.tensor(named: "token_embd.weight")?.type == (type == .q4_0 ? .q4_0 : .q4_k), "\(type)")
        }
        // The LLaMA-3 fixture's rows are 128 wide.
        // (Q8_0 is stored row-interleaved like the other matrices.)
        _ = try Converter.convert(source: Fixtures.path("llama3"), out: out, options: .init(type: .q4_0, force: true))
        #expect(try HKWFile(path: out).tensor(named: "output.weight")?.type == .q8_0_r8)
        _ = try Converter.convert(source: wide, out: out, options: .init(type: .q8_0, force: true))
        #expect(try HKWFile(path: out).tensor(named: "output.weight")?.type == .q8_0_r8)
        // --output-type overrides the choice.
        var options = Converter.Options(type: .q4_0, force: true)
        options.outputType = .q4_0
        _ = try Converter.convert(source: wide, out: out, options: options)
        #expect(try HKWFile(path: out).tensor(named: "output.weight")?.type == .q4_0_r8)
    }

    @Test func q4_k_mFollowsTheLlamaCppRecipe() throws {
        let src = try Self.kquantCheckpoint()
        let out = Fixtures.temporaryDirectory() + "/m.hkw"
        let report = try Converter.convert(source: src, out: out, options: .init(type: .q4_k_m))
        let f = try HKWFile(path: out)
        #expect(f.tensor(named: "output.weight")?.type == .q6_k_r8)
        #expect(f.tensor(named: "token_embd.weight")?.type == .q4_k)
        // 4 layers: more bits for layers 2 (every third after the first eighth) and 3 (last eighth).
        // Q4_K and Q6_K matrices are stored row-interleaved (the embedding is looked up by row: it is not).
        #expect(
            (0..<4).map { f.tensor(named: "blk.\($0).attn_v.weight")?.type } == [
                .q4_k_r8, .q4_k_r8, .q6_k_r8, .q6_k_r8,
            ])
        #expect(
            (0..<4).map { f.tensor(named: "blk.\($0).ffn_down.weight")?.type } == [
                .q4_k_r8, .q4_k_r8, .q6_k_r8, .q6_k_r8,
            ])
        #expect(f.tensor(named: "blk.0.attn_q.weight")?.type == .q4_k_r8)
        #expect(f.tensor(named: "blk.0.attn_norm.weight")?.type == .f32)
        #expect(report.maxRelRMSE < 0.12)
        for type in [ConversionType.q4_k, .q6_k] {
            let r = try Converter.convert(source: src, out: out, options: .init(type: type, force: true))
            #expect(r.maxRelRMSE < (type == .q6_k ? 0.03 : 0.12))
            #expect(
                try HKWFile(path: out).tensor(named: "blk.3.ffn_up.weight")?.type
                    == (type == .q6_k ? .q6_k_r8 : .q4_k_r8))
        }
        // q4_k is llama.cpp's Q4_K_S: Q5_K for attn_v in the first 4 layers and ffn_down in the
        // first eighth (none of 4 layers).
        _ = try Converter.convert(source: src, out: out, options: .init(type: .q4_k, force: true))
        let s = try HKWFile(path: out)
        #expect((0..<4).map { s.tensor(named: "blk.\($0).attn_v.weight")?.type } == [.q5_k, .q5_k, .q5_k, .q5_k])
        #expect((0..<4).allSatisfy { s.tensor(named: "blk.\($0).ffn_down.weight")?.type == .q4_k_r8 })
    }

    /// llama.cpp's per-tensor rules at the published bases' sizes (`llama_tensor_get_type_impl`):
    /// 32 layers, Q4_K_S's Q5_K for ffn_down in layers 0–3; 80 layers of a grouped-query LLaMA
    /// (LLaMA-3-70B), attn_v at Q5_K where it would be Q4_K.
    @Test func perTensorRulesAtTheBasesSizes() {
        func type(_ name: String, _ t: ConversionType, layers: Int, seventyB: Bool = false) -> QuantType {
            Converter.blockType(
                for: name, type: t, layers: layers, columns: 4096, outputHead: false, seventyB: seventyB)
        }
        #expect(
            (0..<5).map { type("blk.\($0).ffn_down.weight", .q4_k, layers: 32) } == [.q5_k, .q5_k, .q5_k, .q5_k, .q4_k])
        #expect(
            (0..<5).map { type("blk.\($0).attn_v.weight", .q4_k, layers: 32) } == [.q5_k, .q5_k, .q5_k, .q5_k, .q4_k])
        // use_more_bits at 32 layers: 0–3, 28–31, and 6, 9, …, 27.
        let more = (0..<32).filter { type("blk.\($0).attn_v.weight", .q4_k_m, layers: 32) == .q6_k }
        #expect(more == [0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31])
        #expect(type("blk.10.attn_v.weight", .q4_k_m, layers: 80, seventyB: true) == .q5_k)
        #expect(type("blk.0.attn_v.weight", .q4_k_m, layers: 80, seventyB: true) == .q6_k)
        #expect(type("blk.10.attn_v.weight", .q4_k_m, layers: 80) == .q4_k)
        #expect(type("blk.10.attn_q.weight", .q4_k_m, layers: 80, seventyB: true) == .q4_k)
        #expect(Converter.incompatibleFallback(.q5_k) == .q5_1)
    }

    /// Rows that do not fit a K-quant block take llama.cpp's replacement (`llama_tensor_get_type`'s
    /// `convert_incompatible_tensor`): Q4_K → Q5_0, Q6_K → Q8_0. The LLaMA-3 fixture's rows are 128
    /// wide (320 for ffn_down), and of its 2 layers, q4_k_m gives layer 1 more bits.
    @Test func rowsThatDoNotFitAKQuantTakeLlamaCppsReplacement() throws {
        let out = Fixtures.temporaryDirectory() + "/m.hkw"
        _ = try Converter.convert(source: Fixtures.path("llama3"), out: out, options: .init(type: .q4_k_m))
        let f = try HKWFile(path: out)
        #expect(f.tensor(named: "token_embd.weight")?.type == .q5_0)
        #expect(f.tensor(named: "output.weight")?.type == .q8_0_r8)
        // (Matrices are stored row-interleaved; the embedding, looked up by row, is not.)
        for layer in 0..<2 {
            #expect(f.tensor(named: "blk.\(layer).attn_q.weight")?.type == .q5_0_r8)
            let moreBits: QuantType = layer == 1 ? .q8_0_r8 : .q5_0_r8
            #expect(f.tensor(named: "blk.\(layer).attn_v.weight")?.type == moreBits, "layer \(layer)")
            #expect(f.tensor(named: "blk.\(layer).ffn_down.weight")?.type == moreBits, "layer \(layer)")
        }
    }

    /// The row-interleaved layout changes where the bytes go, not what they say: with and without
    /// it, every tensor decodes to the same bits, and the files have the same size.
    @Test(arguments: [ConversionType.q8_0, .q4_0, .q4_k_m])
    func interleavedAndPlainRowsHoldTheSameValues(_ type: ConversionType) throws {
        let src = try Self.kquantCheckpoint(), dir = Fixtures.temporaryDirectory()
        var plainOptions = Converter.Options(type: type)
        plainOptions.interleave = false
        _ = try Converter.convert(source: src, out: dir + "/r8.hkw", options: .init(type: type))
        _ = try Converter.convert(source: src, out: dir + "/plain.hkw", options: plainOptions)
        let r8 = try HKWFile(path: dir + "/r8.hkw"), plain = try HKWFile(path: dir + "/plain.hkw")
        #expect(try FileSystem.size(of: dir + "/r8.hkw") == FileSystem.size(of: dir + "/plain.hkw"))
        #expect(plain.tensors.allSatisfy { $0.type?.interleavedBase == nil })
        var interleaved = 0
        for e in r8.tensors {
            let p = try #require(plain.tensor(named: e.name))
            if let base = e.type?.interleavedBase {
                #expect(p.type == base, "\(e.name)")
                interleaved += 1
            } else {
                #expect(p.type == e.type, "\(e.name)")
            }
            #expect(try Self.decoded(r8, e).map(\.bitPattern) == Self.decoded(plain, p).map(\.bitPattern), "\(e.name)")
        }
        #expect(interleaved > 0)
    }

    @Test func canonicalNamesAreShortAndComplete() throws {
        let dir = Fixtures.temporaryDirectory()
        _ = try Converter.convert(
            source: Fixtures.path("deepseek_v3"), out: dir + "/ds.hkw", options: .init(type: .fp8))
        let f = try HKWFile(path: dir + "/ds.hkw")
        let source = try Checkpoint.open(Fixtures.path("deepseek_v3"))
        #expect(f.tensors.count == source.tensors.count)
        #expect(f.tensors.allSatisfy { $0.name.utf8.count < 64 })
        #expect(f.tensor(named: "blk.2.nextn.eh_proj.weight") != nil)
        #expect(f.tensor(named: "blk.1.ffn_gate_exps.7.weight")?.type == .f8e4m3)
        #expect(f.tensor(named: "blk.1.ffn_gate_exps.7.weight_scale_inv")?.type == .f32)
        #expect(f.tensor(named: "blk.1.exp_probs_b.bias")?.type == .f32)
        // FP8 codes are copied byte for byte.
        let w = try #require(source.tensor(named: "model.layers.0.self_attn.q_a_proj.weight"))
        #expect(f.tensor(named: "blk.0.attn_q_a.weight")?.data.array == w.contiguousData().array)
    }

    @Test func hubCacheSnapshotsGiveRepoCommitAndDigests() throws {
        // A snapshot laid out as huggingface_hub does: files are links into blobs/<sha256>.
        let cache = Fixtures.temporaryDirectory("hasskit-cache")
        let repo = cache + "/models--org--tiny-qwen2"
        let commit = String(repeating: "ab", count: 20)
        try FileManager.default.createDirectory(atPath: repo + "/blobs", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(
            atPath: repo + "/snapshots/" + commit, withIntermediateDirectories: true)
        let weights = try FileSystem.readFile(Fixtures.path("qwen2/model.safetensors"))
        let digest = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"  // stands in for the LFS oid
        FileManager.default.createFile(atPath: repo + "/blobs/" + digest, contents: Data(weights))
        try FileManager.default.createSymbolicLink(
            atPath: repo + "/snapshots/\(commit)/model.safetensors", withDestinationPath: "../../blobs/" + digest)
        try FileManager.default.copyItem(
            atPath: Fixtures.path("qwen2/config.json"), toPath: repo + "/snapshots/\(commit)/config.json")
        let out = Fixtures.temporaryDirectory() + "/q.hkw"
        _ = try Converter.convert(source: repo + "/snapshots/" + commit, out: out, options: .init(type: .bf16))
        let provenance = try #require(try HKWFile(path: out).metadata["provenance"])
        #expect(provenance["repo"]?.stringValue == "org/tiny-qwen2")
        #expect(provenance["commit"]?.stringValue == commit)
        #expect(provenance["files"]?.arrayValue?.first?["sha256"]?.stringValue == digest)
    }

    @Test func mtpLayerIsExtractedAsADraft() throws {
        let dir = Fixtures.temporaryDirectory()
        var options = Converter.Options(type: .fp8)
        options.layers = [2]
        _ = try Converter.convert(source: Fixtures.path("deepseek_v3"), out: dir + "/mtp.hkw", options: options)
        let f = try HKWFile(path: dir + "/mtp.hkw")
        #expect(f.metadata["architecture"]?.stringValue == "deepseek_mtp")
        #expect(f.metadata["role"]?.stringValue == "draft")
        #expect(f.tensors.allSatisfy { $0.name.hasPrefix("blk.2.") })
        for name in ["eh_proj", "enorm", "hnorm", "embed_tokens", "shared_head_norm", "shared_head_head"] {
            #expect(f.tensor(named: "blk.2.nextn.\(name).weight") != nil, "\(name)")
        }
        options.layers = [9]
        #expect(throws: ConversionError.self) {
            _ = try Converter.convert(source: Fixtures.path("deepseek_v3"), out: dir + "/x.hkw", options: options)
        }
    }

    @Test func headConfigIsReadFromTheWeights() throws {
        let dir = Fixtures.temporaryDirectory()
        _ = try Converter.convert(
            source: Fixtures.path("draft_llama3"), out: dir + "/h.hkw", options: .init(type: .f16))
        let config = try #require(try HKWFile(path: dir + "/h.hkw").metadata["config"])
        #expect(config["fc_bias"]?.boolValue == false)
        #expect(config["qkv_bias"]?.boolValue == false)
        #expect(config["rope_theta"]?.doubleValue == 500000)
        _ = try Converter.convert(
            source: Fixtures.path("draft_llama2"), out: dir + "/h2.hkw", options: .init(type: .f16))
        let c2 = try #require(try HKWFile(path: dir + "/h2.hkw").metadata["config"])
        #expect(c2["fc_bias"]?.boolValue == true)
        #expect(c2["rope_theta"]?.doubleValue == 10000)  // LLaMA-2 drafts have no rope_theta key
    }

    /// The same LLaMA-3.1-style settings written as transformers 4 writes them (`rope_theta`,
    /// `rope_scaling`, `torch_dtype`) and as transformers 5 does (`rope_parameters`, `dtype`) give
    /// the same header config.
    @Test func transformers4And5ConfigKeysGiveTheSameConfig() throws {
        let dir = Fixtures.temporaryDirectory()
        var original = try Fixtures.json("llama3/config.json")
        guard case var .object(members) = original else { Issue.record("config is not an object"); return }
        let scaling: [(String, JSONValue)] = [
            ("factor", .double(8)), ("low_freq_factor", .double(1)), ("high_freq_factor", .double(4)),
            ("original_max_position_embeddings", .int(8192)), ("rope_type", .string("llama3")),
        ]
        members = members.map { $0.0 == "rope_scaling" ? ($0.0, .object(scaling)) : $0 }
        original = .object(members)
        let v5: JSONValue = .object(
            members.filter { !["rope_theta", "rope_scaling", "torch_dtype"].contains($0.0) } + [
                ("rope_parameters", .object([("rope_theta", .double(500000))] + scaling)),
                ("dtype", .string("bfloat16")),
            ])
        var configs: [JSONValue] = []
        for (name, config) in [("v4", original), ("v5", v5)] {
            try FileManager.default.createDirectory(atPath: "\(dir)/\(name)", withIntermediateDirectories: true)
            for file in [
                "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json",
            ] {
                try FileManager.default.copyItem(
                    atPath: Fixtures.path("llama3/" + file), toPath: "\(dir)/\(name)/" + file)
            }
            FileManager.default.createFile(
                atPath: "\(dir)/\(name)/config.json", contents: Data(config.serialized().utf8))
            _ = try Converter.convert(source: "\(dir)/\(name)", out: "\(dir)/\(name).hkw", options: .init(type: .f32))
            configs.append(try #require(try HKWFile(path: "\(dir)/\(name).hkw").metadata["config"]))
        }
        #expect(configs[0]["rope_theta"]?.doubleValue == 500000)
        #expect(configs[0]["rope_scaling"]?["factor"]?.doubleValue == 8)
        #expect(configs[0]["source_dtype"]?.stringValue == "bfloat16")
        for key in ["rope_theta", "source_dtype", "hidden_size", "num_kv_heads", "head_dim"] {
            #expect(configs[0][key] == configs[1][key], "\(key)")
        }
        for key in ["factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings", "rope_type"] {
            #expect(configs[0]["rope_scaling"]?[key] == configs[1]["rope_scaling"]?[key], "rope_scaling.\(key)")
        }
    }

    @Test func draftSharesTheBaseEmbeddingWhenEqual() throws {
        let dir = Fixtures.temporaryDirectory()
        _ = try Converter.convert(source: Fixtures.path("qwen2"), out: dir + "/base.hkw", options: .init(type: .q8_0))
        let report = try Converter.convert(
            source: Fixtures.path("draft_qwen2"), out: dir + "/head.hkw",
            options: .init(type: .q8_0, draftOf: dir + "/base.hkw"))
        #expect(report.shared == ["token_embd.weight"])
        let head = try HKWFile(path: dir + "/head.hkw")
        #expect(head.tensor(named: "token_embd.weight") == nil)
        #expect(head.metadata["base_content_hash"]?.stringValue == (try HKWFile(path: dir + "/base.hkw")).contentHash)
        // A head for another base is refused and leaves nothing.
        _ = try Converter.convert(
            source: Fixtures.path("llama3"), out: dir + "/llama3.hkw", options: .init(type: .bf16))
        #expect(throws: ConversionError.self) {
            _ = try Converter.convert(
                source: Fixtures.path("draft_qwen2"), out: dir + "/wrong.hkw",
                options: .init(type: .q8_0, draftOf: dir + "/llama3.hkw"))
        }
        #expect(FileSystem.kind(of: dir + "/wrong.hkw") == .missing)
    }

    @Test func existingOutputIsKeptWithoutForce() throws {
        let dir = Fixtures.temporaryDirectory()
        let out = dir + "/m.hkw"
        _ = try Converter.convert(source: Fixtures.path("qwen2"), out: out, options: .init(type: .bf16))
        let before = try FileSystem.readFile(out)
        #expect(throws: ConversionError.self) {
            _ = try Converter.convert(source: Fixtures.path("llama3"), out: out, options: .init(type: .bf16))
        }
        #expect(try FileSystem.readFile(out) == before)
        _ = try Converter.convert(source: Fixtures.path("llama3"), out: out, options: .init(type: .bf16, force: true))
        #expect(try FileSystem.readFile(out) != before)
    }

    @Test(arguments: [
        "hostile/idx_missing_shard", "hostile/st_fp8_nan_weight.safetensors",
        "hostile/st_fp8_missing_scale_inv.safetensors",
        "hostile/st_fp8_scale_wrong_shape.safetensors", "hostile/st_name_empty.safetensors",
        "hostile/st_name_nul.safetensors",
        "hostile/ok_torch_minimal.bin", "dtypes/fp8_e4m3fn_all_codes.safetensors",
    ])
    func badInputsFailAndLeaveNothing(_ relative: String) throws {
        let dir = Fixtures.temporaryDirectory()
        #expect(throws: (any Error).self) {
            _ = try Converter.convert(source: Fixtures.path(relative), out: dir + "/x.hkw", options: .init(type: .q8_0))
        }
        #expect(try FileSystem.contents(of: dir).isEmpty)
    }

    @Test func stalePartialsFromDeadProcessesAreRemoved() throws {
        let dir = Fixtures.temporaryDirectory()
        let stale = dir + "/.m.hkw.partial-999999999-0"
        let w = try AtomicFileWriter(path: stale)
        try w.write([1, 2, 3])
        try w.commit()
        _ = try Converter.convert(source: Fixtures.path("qwen2"), out: dir + "/m.hkw", options: .init(type: .bf16))
        #expect(try FileSystem.contents(of: dir) == ["m.hkw"])
    }

    @Test func fp8EncoderMatchesTorchAndTheReference() throws {
        let json = try Fixtures.json("refs/dtypes.json")
        for c in try #require(json["float32_to_narrow_rne"]?["cases"]?.arrayValue) {
            guard let bits = UInt32(c["f32_bits"]?.stringValue ?? "", radix: 16),
                let expected = UInt8(c["fp8_e4m3fn_after_clamp_448_bits"]?.stringValue ?? "", radix: 16)
            else { continue }
            let x = Float(bitPattern: bits)
            #expect(ck_float_to_f8e4m3_scalar(x) == expected, "f32 \(c["f32_bits"]?.stringValue ?? "")")
        }
        var state: UInt64 = 7
        for _ in 0..<20000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let x = Float(bitPattern: UInt32(truncatingIfNeeded: state >> 32) & 0xC3FF_FFFF)  // |x| < 2^9 mostly
            #expect(ck_float_to_f8e4m3_scalar(x) == ElementEncoding.f8e4m3(x), "\(x)")
        }
    }
}

/// GGUF blocks of a type `.hkw` has are kept as they are: byte for byte in ggml's layout, and
/// decoding to the same values when interleaved for the engine.
@Suite struct GGUFBlockKeepTests {
    @Test func q8_0BlocksAreKept() throws {
        let (image, _) = GGUFBuilder.tinyLlama(q8Projections: true)
        let dir = Fixtures.temporaryDirectory()
        try Data(image).write(to: URL(fileURLWithPath: dir + "/m.gguf"))
        let checkpoint = try Checkpoint.open(dir + "/m.gguf")
        let names = [
            ("blk.0.attn_q.weight", "model.layers.0.self_attn.q_proj.weight"),
            ("blk.0.ffn_down.weight", "model.layers.0.mlp.down_proj.weight"),
        ]
        for interleave in [false, true] {
            var options = Converter.Options(type: .q8_0, force: true)
            options.interleave = interleave
            _ = try Converter.convert(source: dir + "/m.gguf", out: dir + "/m.hkw", options: options)
            let f = try HKWFile(path: dir + "/m.hkw")
            for (canonical, source) in names {
                let entry = try #require(f.tensor(named: canonical))
                let tensor = try #require(checkpoint.tensor(named: source))
                #expect(entry.type == (interleave ? .q8_0_r8 : .q8_0))
                if !interleave { #expect(entry.data.array == tensor.contiguousData().array, "\(canonical)") }
                let decoded = entry.data.withUnsafeBytes {
                    Quantizer.decode($0, as: entry.type!, rows: entry.shape[0], cols: entry.shape[1])
                }
                #expect(decoded == (try tensor.floats()), "\(canonical) interleaved \(interleave)")
            }
        }
    }
}
