import Checkpoints
@testable import Export
import Foundation
import Platform
import StrictJSON
import Testing
import TestSupport

/// `hasskit export` on every fixture head and on the FP8 DeepSeek fixture, for both engines.
@Suite struct ExportTests {
    static func request(
        _ base: String, _ draft: String, _ engine: Engine, nodes: Int = 1, gpus: Int = 1
    ) -> Exporter.Request {
        Exporter.Request(
            base: Fixtures.path(base), draft: Fixtures.path(draft), engine: engine, baseReference: "/models/\(base)",
            nodes: nodes, gpusPerNode: gpus, out: Fixtures.temporaryDirectory("hasskit-export") + "/out")
    }

    /// Writes the export and re-reads its draft folder.
    static func export(_ r: Exporter.Request) throws -> (ExportPlan, Checkpoint, JSONValue) {
        let plan = try Exporter.plan(r)
        try Exporter.write(plan, request: r, force: false, provenance: .object([]))
        let checkpoint = try Checkpoint.open(r.out + "/draft")
        return (plan, checkpoint, try #require(checkpoint.config))
    }

    /// Our f32 reference of the head layer reproduces HASS's `cnets.py` features (refs made by
    /// HASS's own code), so the fold check below measures the real head.
    @Test(arguments: ["draft_llama2", "draft_llama3", "draft_qwen2"])
    func headLayerReferenceMatchesHASS(_ head: String) throws {
        let refs = try Fixtures.json("refs/\(head).json")
        let checkpoint = try Checkpoint.open(Fixtures.path(head))
        var tensors: [String: [Float]] = [:]
        for t in checkpoint.tensors { tensors[t.name] = try t.floats() }
        let config = try #require(checkpoint.config)
        let hidden = try #require(config["hidden_size"]?.intValue)
        let reference = HeadLayerReference(
            tensors: tensors, hidden: hidden, heads: config["num_attention_heads"]?.intValue ?? 1,
            kvHeads: config["num_key_value_heads"]?.intValue ?? 1,
            intermediate: config["intermediate_size"]?.intValue ?? 0,
            ropeTheta: config["rope_theta"]?.doubleValue ?? 10000,
            rmsEps: Float(config["rms_norm_eps"]?.doubleValue ?? 1e-6))
        let c = try #require(refs["cases"]?.arrayValue?.first)
        let tokens = (c["draft_input_token_ids"]?.arrayValue ?? []).compactMap(\.intValue).prefix(12)
        let features = (c["base_features_postnorm"]?.arrayValue ?? []).prefix(tokens.count).map {
            ($0.arrayValue ?? []).compactMap(\.doubleValue).map(Float.init)
        }
        let expected = (c["draft_features"]?.arrayValue ?? []).prefix(tokens.count).map {
            ($0.arrayValue ?? []).compactMap(\.doubleValue).map(Float.init)
        }
        let embedding = try #require(tensors["embed_tokens.weight"])
        let out = reference.forward(
            embeddings: tokens.map { Array(embedding[($0 * hidden)..<(($0 + 1) * hidden)]) }, features: Array(features))
        #expect(out.count == expected.count && !out.isEmpty)
        for (t, (a, b)) in zip(out, expected).enumerated() {
            let scale = b.map(abs).max() ?? 1
            let diff = zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
            #expect(diff <= 1e-4 * max(scale, 1), "\(head) position \(t): max difference \(diff)")
        }
    }

    @Test(arguments: [("llama2", "draft_llama2"), ("llama3", "draft_llama3"), ("qwen2", "draft_qwen2")])
    func headsExportForSGLang(_ base: String, _ head: String) throws {
        let (plan, checkpoint, config) = try Self.export(Self.request(base, head, .sglang))
        let baseConfig = try Fixtures.json("\(base)/config.json")
        let names = Set(checkpoint.tensors.map(\.name))
        #expect(names.contains("fc.bias"), "SGLang always allocates fc.bias")
        #expect(!names.contains("embed_tokens.weight") && !names.contains("lm_head.weight"))
        #expect(
            names.contains("layers.0.post_attention_layernorm.weight")
                && !names.contains("layers.0.input_layernorm.weight"))
        #expect(
            config["architectures"]?.arrayValue?.first?.stringValue
                == (base == "qwen2" ? "Qwen2ForCausalLMEagle" : "LlamaForCausalLMEagle"))
        #expect(config["vocab_size"] == baseConfig["vocab_size"])
        #expect(
            (config["max_position_embeddings"]?.intValue ?? 0) >= (baseConfig["max_position_embeddings"]?.intValue ?? 0)
        )
        #expect(config["torch_dtype"] == baseConfig["torch_dtype"])
        #expect(config["bias"] == nil)
        let dtype: DType = baseConfig["torch_dtype"]?.stringValue == "float16" ? .f16 : .bf16
        #expect(checkpoint.tensors.allSatisfy { $0.dtype == dtype })
        if base == "llama3" {
            // The LLaMA-3 head has no fc.bias: zeros, and the rule is recorded.
            #expect(try checkpoint.tensor(named: "fc.bias")?.floats().allSatisfy { $0 == 0 } == true)
            #expect(plan.notes.contains { $0.contains("fc.bias written as zeros") })
        }
        if base == "qwen2" { #expect(names.contains("layers.0.self_attn.q_proj.bias")) }
        // The weights are the head's, in the base's dtype.
        let original = try Checkpoint.open(Fixtures.path(head))
        let fc = try #require(try original.tensor(named: "fc.weight")?.floats())
        let exported = try #require(try checkpoint.tensor(named: "fc.weight")?.floats())
        #expect(zip(fc, exported).allSatisfy { abs($0 - $1) <= abs($0) * 1e-2 + 1e-6 })
        #expect(FileSystem.kind(of: (plan.launch.draft as NSString).deletingLastPathComponent + "/launch.sh") == .file)
    }

    @Test(arguments: [("llama2", "draft_llama2"), ("llama3", "draft_llama3"), ("qwen2", "draft_qwen2")])
    func headsExportForVLLM(_ base: String, _ head: String) throws {
        let (plan, checkpoint, config) = try Self.export(Self.request(base, head, .vllm))
        let names = Set(checkpoint.tensors.map(\.name))
        let allowed: Set<String> = [
            "fc.weight", "layers.0.self_attn.q_proj.weight", "layers.0.self_attn.k_proj.weight",
            "layers.0.self_attn.v_proj.weight",
            "layers.0.self_attn.o_proj.weight", "layers.0.mlp.gate_proj.weight", "layers.0.mlp.up_proj.weight",
            "layers.0.mlp.down_proj.weight", "layers.0.post_attention_layernorm.weight",
            "layers.0.self_attn.q_proj.bias",
            "layers.0.self_attn.k_proj.bias", "layers.0.self_attn.v_proj.bias", "layers.0.self_attn.o_proj.bias",
        ]
        #expect(names.isSubset(of: allowed), "\(names.subtracting(allowed))")
        #expect(!names.contains("fc.bias"), "vLLM's fc has no bias")
        #expect(config["architectures"]?.arrayValue?.first?.stringValue == "LlamaForCausalLM")
        #expect(config["bias"] == nil)
        let original = try Checkpoint.open(Fixtures.path(head))
        if original.tensor(named: "fc.bias") != nil {
            // Folded: the attention biases exist, and the exported head computes the original's.
            #expect(config["attention_bias"]?.boolValue == true)
            #expect(names.contains("layers.0.self_attn.o_proj.bias"))
            #expect((plan.foldCheck ?? 1) <= 1e-5)
            try Self.expectSameHead(original: original, exported: checkpoint, config: config)
        } else {
            #expect(plan.foldCheck == nil)
            #expect(!names.contains("layers.0.self_attn.o_proj.bias"))
        }
        #expect(plan.launch.commands.first?.contains("\"method\":\"eagle\"") == true)
    }

    /// The exported file itself (read back, in the base's dtype) against the original head, on our
    /// f32 reference of the layer: equal up to the dtype's rounding.
    static func expectSameHead(original: Checkpoint, exported: Checkpoint, config: JSONValue) throws {
        func load(_ c: Checkpoint) throws -> [String: [Float]] {
            var out: [String: [Float]] = [:]
            for t in c.tensors where t.name != "embed_tokens.weight" { out[t.name] = try t.floats() }
            return out
        }
        let hidden = config["hidden_size"]?.intValue ?? 0
        func layer(_ tensors: [String: [Float]]) -> HeadLayerReference {
            HeadLayerReference(
                tensors: tensors, hidden: hidden, heads: config["num_attention_heads"]?.intValue ?? 1,
                kvHeads: config["num_key_value_heads"]?.intValue ?? 1,
                intermediate: config["intermediate_size"]?.intValue ?? 0,
                ropeTheta: config["rope_theta"]?.doubleValue ?? 10000,
                rmsEps: Float(config["rms_norm_eps"]?.doubleValue ?? 1e-6))
        }
        var g = SeededGenerator(seed: 1592590344)
        let e = (0..<3).map { _ in (0..<hidden).map { _ in Float.random(in: -0.05...0.05, using: &g) } }
        let f = (0..<3).map { _ in (0..<hidden).map { _ in Float.random(in: -2...2, using: &g) } }
        let a = layer(try load(original)).forward(embeddings: e, features: f)
        let b = layer(try load(exported)).forward(embeddings: e, features: f)
        for t in 0..<3 {
            let scale = a[t].map(abs).max() ?? 1
            let diff = zip(a[t], b[t]).map { abs($0 - $1) }.max() ?? .infinity
            #expect(diff <= 2e-2 * scale, "position \(t): \(diff) of \(scale)")
        }
    }

    /// The FP8 DeepSeek fixture's MTP layer: SGLang's layer-0 layout with the FP8 bytes and scales
    /// as stored, BF16 eh_proj and norms, no embedding or head; vLLM's layer-N layout with both.
    @Test func deepSeekMTPLayerExports() throws {
        let source = try Checkpoint.open(Fixtures.path("deepseek_v3"))
        let (plan, sglang, config) = try Self.export(
            Self.request("deepseek_v3", "deepseek_v3", .sglang, nodes: 2, gpus: 8))
        #expect(config["architectures"]?.arrayValue?.first?.stringValue == "DeepseekV3ForCausalLMNextN")
        #expect(config["num_hidden_layers"]?.intValue == 1 && config["num_nextn_predict_layers"]?.intValue == 1)
        #expect(config["quantization_config"]?["quant_method"]?.stringValue == "fp8")
        #expect(sglang.tensors.allSatisfy { $0.name.hasPrefix("model.layers.0.") })
        #expect(
            sglang.tensor(named: "model.layers.0.embed_tokens.weight") == nil
                && sglang.tensor(named: "model.layers.0.shared_head.head.weight") == nil)
        for name in ["eh_proj.weight", "enorm.weight", "hnorm.weight", "shared_head.norm.weight"] {
            #expect(sglang.tensor(named: "model.layers.0." + name)?.dtype == .bf16, "\(name)")
        }
        let fp8 = sglang.tensors.filter { $0.dtype == .f8e4m3 }
        #expect(fp8.count > 20)
        for t in fp8 {
            let original = try #require(
                source.tensor(named: t.name.replacingOccurrences(of: "model.layers.0.", with: "model.layers.2.")))
            #expect(t.contiguousData().array == original.contiguousData().array, "\(t.name) bytes")
            #expect(sglang.tensor(named: t.name + "_scale_inv")?.dtype == .f32)
        }
        #expect(FileSystem.kind(of: plan.launch.draft + "/model.safetensors.index.json") == .file)
        #expect(plan.launch.commands.count == 2)

        let (_, vllm, vconfig) = try Self.export(Self.request("deepseek_v3", "deepseek_v3", .vllm))
        #expect(vconfig["num_hidden_layers"]?.intValue == 2)
        #expect(vllm.tensors.allSatisfy { $0.name.hasPrefix("model.layers.2.") })
        #expect(
            vllm.tensor(named: "model.layers.2.embed_tokens.weight") != nil
                && vllm.tensor(named: "model.layers.2.shared_head.head.weight") != nil)
    }

    /// The printed commands, exactly (HASS's 60/5/10 tree is SGLang's 6 steps, top-k 10, 60 tokens).
    @Test func launchCommandsAreStable() {
        let head = LaunchPlan(
            engine: .sglang, kind: "eagle1-head", base: "/m/base", draft: "/x/draft", dtype: "float16",
            tree: .published, nodes: 1, gpusPerNode: 4)
        #expect(
            head.commands == [
                "python3 -m sglang.launch_server --model-path /m/base --tp 4 --speculative-algorithm EAGLE --speculative-draft-model-path /x/draft --speculative-num-steps 6 --speculative-eagle-topk 10 --speculative-num-draft-tokens 60 --dtype float16"
            ])
        let mtp = LaunchPlan(
            engine: .sglang, kind: "deepseek-mtp", base: "/m/r1", draft: "/x/draft", dtype: "bfloat16",
            tree: .published, nodes: 2, gpusPerNode: 8)
        #expect(
            mtp.commands[1]
                == "python3 -m sglang.launch_server --model-path /m/r1 --trust-remote-code --tp 16 --nnodes 2 --node-rank 1 --dist-init-addr ${HEAD_ADDR:?set HEAD_ADDR to node 0's address}:5000 --speculative-algorithm EAGLE --speculative-draft-model-path /x/draft --speculative-num-steps 3 --speculative-eagle-topk 1 --speculative-num-draft-tokens 4 --max-running-requests 1 --cuda-graph-max-bs 1"
        )
        let vllm = LaunchPlan(
            engine: .vllm, kind: "eagle1-head", base: "/m/base", draft: "/x/draft", dtype: "bfloat16", tree: .published,
            nodes: 2, gpusPerNode: 8)
        #expect(
            vllm.commands == [
                "ray start --head --port 6379 && vllm serve /m/base --tensor-parallel-size 16 --dtype bfloat16 --distributed-executor-backend ray --speculative-config '{\"method\":\"eagle\",\"model\":\"/x/draft\",\"num_speculative_tokens\":5}'",
                "ray start --block --address=${HEAD_ADDR:?set HEAD_ADDR to node 0's address}:6379",
            ])
        #expect(vllm.script.contains("case \"${NODE_RANK:?set NODE_RANK}\" in"))
    }

    /// A LLaMA-3 head with a LLaMA-2 base is refused with a message that says so; nothing is written.
    @Test func aHeadForAnotherBaseIsRefused() throws {
        let r = Self.request("llama2", "draft_llama3", .sglang)
        #expect {
            _ = try Exporter.plan(r)
        } throws: { error in
            guard let e = error as? ExportError else { return false }
            return e.kind == .incompatible && e.message.contains("head for another base")
        }
        #expect(FileSystem.kind(of: r.out) == .missing)
    }
}
