import Inference
import StrictJSON
import WeightFormat

/// `hasskit compat`: does a converted HASS head fit a converted base? Structural checks read the
/// two headers only; the numeric check runs both models.
public struct PairCompatibility: Sendable {
    public struct Check: Sendable, Equatable {
        public var name: String
        public var ok: Bool
        public var expected: String
        public var found: String
        /// Set when the check passes with a caveat the user should read.
        public var note: String?
    }

    public var checks: [Check] = []
    /// Share of positions where the head's top-1 token equals the base's (nil until measured).
    public var top1Agreement: Double?

    public var compatible: Bool { checks.allSatisfy(\.ok) }

    /// The header checks (hass-spec §1: the head reads the base's features and vocabulary and
    /// uses its RoPE and `lm_head`).
    public init(base: HKWFile, draft: HKWFile) {
        let bc = base.metadata["config"], dc = draft.metadata["config"]
        func int(_ c: JSONValue?, _ key: String) -> String { c?[key]?.intValue.map(String.init) ?? "none" }
        func add(_ name: String, _ expected: String, _ found: String, ok: Bool? = nil, note: String? = nil) {
            checks.append(
                Check(name: name, ok: ok ?? (expected == found), expected: expected, found: found, note: note))
        }
        let baseArch = base.metadata["architecture"]?.stringValue ?? "none"
        if base.architecture == .deepseekV3 {
            addMTPChecks(base: base, draft: draft)
            return
        }
        add("base architecture", "llama or qwen2", baseArch, ok: base.architecture?.isLlamaLike == true)
        add(
            "draft architecture", HKWArchitecture.eagleHead.rawValue,
            draft.metadata["architecture"]?.stringValue ?? "none")
        let h = bc?["hidden_size"]?.intValue ?? 0
        add("hidden size", int(bc, "hidden_size"), int(dc, "hidden_size"))
        add("vocabulary", int(bc, "vocab_size"), int(dc, "vocab_size"))
        add("fc shape", "\(h)×\(2 * h)", draft.tensor(named: "fc.weight").map(Self.shape) ?? "missing")
        let wantsBias = dc?["fc_bias"]?.boolValue
        let hasBias = draft.tensor(named: "fc.bias") != nil
        add(
            "fc bias", wantsBias.map { $0 ? "present" : "absent" } ?? (hasBias ? "present" : "absent"),
            hasBias ? "present" : "absent")
        if let e = draft.tensor(named: "token_embd.weight") {
            add(
                "embedding", "\(int(bc, "vocab_size"))×\(h)", Self.shape(e),
                ok: e.shape.count == 2 && e.shape[1] == h && e.shape[0] >= (bc?["vocab_size"]?.intValue ?? 0))
        } else {
            add("embedding", "the base's", "the base's")
        }
        let heads = dc?["num_heads"]?.intValue ?? 0, kvHeads = dc?["num_kv_heads"]?.intValue ?? 0,
            headDim = dc?["head_dim"]?.intValue ?? 0
        // The head's own consistency (its hidden size was compared with the base's above).
        let dh = dc?["hidden_size"]?.intValue ?? 0
        add(
            "attention heads", "q \(heads * headDim)×\(dh), k/v \(kvHeads * headDim)×\(dh)",
            "q \(draft.tensor(named: "blk.0.attn_q.weight").map(Self.shape) ?? "missing"), k/v \(draft.tensor(named: "blk.0.attn_k.weight").map(Self.shape) ?? "missing")"
        )
        add("head dim", int(bc, "head_dim"), int(dc, "head_dim"))
        add("rope theta", bc?["rope_theta"].map(Self.text) ?? "10000", dc?["rope_theta"].map(Self.text) ?? "10000")
        add("rope scaling", bc?["rope_scaling"].map(Self.text) ?? "null", dc?["rope_scaling"].map(Self.text) ?? "null")
        // The head never emits or reads special tokens itself, and published HASS configs often
        // keep EAGLE's eos (LLaMA-3's 128001 where the Instruct base stops at 128009): a
        // difference is reported, not refused.
        let specialNote = "the head does not use special tokens; different ids can mean a head made for a sibling model"
        let bos = (int(bc, "bos_token_id"), int(dc, "bos_token_id"))
        add("bos token", bos.0, bos.1, ok: true, note: bos.0 == bos.1 || bos.1 == "none" ? nil : specialNote)
        let baseEos = (bc?["eos_token_ids"]?.arrayValue ?? []).compactMap(\.intValue).sorted()
        let draftEos = (dc?["eos_token_ids"]?.arrayValue ?? []).compactMap(\.intValue).sorted()
        add(
            "eos tokens", baseEos.description, draftEos.description, ok: true,
            note: draftEos.isEmpty || !Set(baseEos).isDisjoint(with: draftEos) ? nil : specialNote)
        let baseTok = base.file(named: "tokenizer.json")?.sha256, draftTok = draft.file(named: "tokenizer.json")?.sha256
        add(
            "tokenizer", baseTok.map { "sha256 " + $0.prefix(12) } ?? "none",
            draftTok.map { "sha256 " + $0.prefix(12) } ?? "none (uses the base's)",
            ok: draftTok == nil || draftTok == baseTok)
        let madeFor = draft.metadata["base_content_hash"]?.stringValue
        let baseHash = base.contentHash
        switch madeFor {
        case nil:
            add(
                "converted against", "this base", "not recorded", ok: true,
                note: "convert the head with --draft-of BASE.hkw to record it")
        case baseHash?:
            add("converted against", "this base", "this base")
        case let other?:
            add(
                "converted against", String(baseHash.prefix(12)), String(other.prefix(12)), ok: true,
                note:
                    "the head was converted against another base file (fine if it is another quantisation of the same model)"
            )
        }
    }

    /// DeepSeek: the draft is an MTP layer (hass-spec §2.2) made for this architecture: the same
    /// widths, attention and experts, its layer with eh_proj [h, 2h], and the same RoPE and tokenizer.
    mutating func addMTPChecks(base: HKWFile, draft: HKWFile) {
        let bc = base.metadata["config"], dc = draft.metadata["config"]
        func add(_ name: String, _ expected: String, _ found: String, ok: Bool? = nil, note: String? = nil) {
            checks.append(
                Check(name: name, ok: ok ?? (expected == found), expected: expected, found: found, note: note))
        }
        func value(_ c: JSONValue?, _ key: String) -> String { c?[key].map(Self.text) ?? "none" }
        add("base architecture", "deepseek_v3", "deepseek_v3")
        let arch = draft.metadata["architecture"]?.stringValue ?? "none"
        add(
            "draft architecture", "deepseek_mtp (convert --layers mtp) or a NextN export", arch,
            ok: draft.architecture == .deepseekMTP || draft.architecture == .deepseekV3)
        for key in [
            "hidden_size", "vocab_size", "num_heads", "q_lora_rank", "kv_lora_rank", "qk_nope_head_dim",
            "qk_rope_head_dim",
            "v_head_dim", "n_routed_experts", "num_experts_per_tok", "moe_intermediate_size", "rope_theta",
            "rope_scaling",
        ] {
            add(key.replacingOccurrences(of: "_", with: " "), value(bc, key), value(dc, key))
        }
        let h = bc?["hidden_size"]?.intValue ?? 0
        let layer = draft.tensors.first { $0.name.hasPrefix("blk.") && $0.name.hasSuffix(".nextn.eh_proj.weight") }
        add("MTP layer eh_proj", "\(h)×\(2 * h)", layer.map(Self.shape) ?? "missing")
        let baseTok = base.file(named: "tokenizer.json")?.sha256, draftTok = draft.file(named: "tokenizer.json")?.sha256
        add(
            "tokenizer", baseTok.map { "sha256 " + $0.prefix(12) } ?? "none",
            draftTok.map { "sha256 " + $0.prefix(12) } ?? "none (uses the base's)",
            ok: draftTok == nil || draftTok == baseTok)
    }

    static func shape(_ e: HKWFile.Entry) -> String { e.shape.map(String.init).joined(separator: "×") }

    static func text(_ v: JSONValue) -> String { v.serialized() }

    /// Top-1 agreement on the base's own greedy continuations: for each prompt the base generates
    /// `continuation` tokens; at every position of that continuation the head, given the base's
    /// feature and the next token, must predict the token the base chose after it.
    public static func top1Agreement(
        base: any CausalModel, head: any FeatureDraft, prompts: [[Int]], continuation: Int = 32
    ) -> Double {
        var agree = 0, total = 0
        for prompt in prompts where !prompt.isEmpty {
            let sequence = prompt + base.generate(prompt: prompt, maxTokens: continuation, sampling: .greedy)
            let pass = base.forward(tokens: sequence, cache: base.makeCache(), positions: nil, visible: nil)
            let drafted = head.forward(
                features: Array(pass.hidden.dropLast()), tokens: Array(sequence.dropFirst()), cache: head.makeCache(),
                positions: nil, visible: nil
            ).logits
            // drafted[i] predicts the token after sequence[i + 1]; the base's choice is argmax(logits[i + 1]).
            for i in max(0, prompt.count - 2)..<(sequence.count - 1) {
                total += 1
                if argmax(drafted[i]) == argmax(pass.logits[i + 1]) { agree += 1 }
            }
        }
        return total == 0 ? 0 : Double(agree) / Double(total)
    }
}
