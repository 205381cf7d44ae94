import Inference
import StrictJSON
import WeightFormat

/// What `compat` reads of a model: a converted file's header, or what converting a checkpoint
/// would record (`Converter.describe`), so that a pair is judged before it is converted.
public struct ModelHeader: Sendable {
    public var path: String
    public var architecture: HKWArchitecture?
    /// The canonical config (`metadata.config`).
    public var config: JSONValue?
    /// Canonical tensor name → shape.
    public var shapes: [String: [Int]]
    /// Element types of the weights as stored (a converted file's types, or the checkpoint's).
    public var dtypes: [String]
    /// Companion file name → SHA-256.
    public var files: [String: String]
    /// The converted file's content hash, and for a head the base it was converted against.
    public var contentHash: String?
    public var madeFor: String?
    /// Whether this is a converted `.hkw` (the engine can run it) or a checkpoint described.
    public var converted: Bool

    public init(file: HKWFile) {
        path = file.path
        architecture = file.architecture
        config = file.metadata["config"]
        shapes = Dictionary(file.tensors.map { ($0.name, $0.shape) }, uniquingKeysWith: { a, _ in a })
        dtypes = Set(file.tensors.compactMap { $0.type?.interleavedBase?.rawValue ?? $0.type?.rawValue }).sorted()
        files = Dictionary(file.files.map { ($0.name, $0.sha256) }, uniquingKeysWith: { a, _ in a })
        contentHash = file.contentHash
        madeFor = file.metadata["base_content_hash"]?.stringValue
        converted = true
    }

    public init(
        path: String, architecture: HKWArchitecture, config: JSONValue, shapes: [String: [Int]], dtypes: [String],
        files: [String: String]
    ) {
        self.path = path
        self.architecture = architecture
        self.config = config
        self.shapes = shapes
        self.dtypes = dtypes
        self.files = files
        converted = false
    }
}

/// `hasskit compat`: does a HASS head fit a base? Structural checks read the two headers only
/// (of converted files, or of checkpoints: no weight is read); the numeric check runs both models.
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
    /// Why the agreement check did not run (not converted, does not fit the machine, no tokenizer).
    public var numericSkipped: String?

    public var compatible: Bool { checks.allSatisfy(\.ok) }

    /// The header checks (hass-spec §1: the head reads the base's features and vocabulary and
    /// uses its RoPE and `lm_head`).
    public init(base: HKWFile, draft: HKWFile) {
        self.init(base: ModelHeader(file: base), draft: ModelHeader(file: draft))
    }

    public init(base: ModelHeader, draft: ModelHeader) {
        let bc = base.config, dc = draft.config
        func int(_ c: JSONValue?, _ key: String) -> String { c?[key]?.intValue.map(String.init) ?? "none" }
        func add(_ name: String, _ expected: String, _ found: String, ok: Bool? = nil, note: String? = nil) {
            checks.append(
                Check(name: name, ok: ok ?? (expected == found), expected: expected, found: found, note: note))
        }
        let baseArch = base.architecture?.rawValue ?? "none"
        if base.architecture == .deepseekV3 {
            addMTPChecks(base: base, draft: draft)
            return
        }
        add("base architecture", "llama or qwen2", baseArch, ok: base.architecture?.isLlamaLike == true)
        add("draft architecture", HKWArchitecture.eagleHead.rawValue, draft.architecture?.rawValue ?? "none")
        let h = bc?["hidden_size"]?.intValue ?? 0
        add("hidden size", int(bc, "hidden_size"), int(dc, "hidden_size"))
        add("vocabulary", int(bc, "vocab_size"), int(dc, "vocab_size"))
        add("fc shape", "\(h)×\(2 * h)", draft.shapes["fc.weight"].map(Self.shape) ?? "missing")
        let wantsBias = dc?["fc_bias"]?.boolValue
        let hasBias = draft.shapes["fc.bias"] != nil
        add(
            "fc bias", wantsBias.map { $0 ? "present" : "absent" } ?? (hasBias ? "present" : "absent"),
            hasBias ? "present" : "absent")
        if let e = draft.shapes["token_embd.weight"] {
            add(
                "embedding", "\(int(bc, "vocab_size"))×\(h)", Self.shape(e),
                ok: e.count == 2 && e[1] == h && e[0] >= (bc?["vocab_size"]?.intValue ?? 0))
        } else {
            add("embedding", "the base's", "the base's")
        }
        let heads = dc?["num_heads"]?.intValue ?? 0, kvHeads = dc?["num_kv_heads"]?.intValue ?? 0,
            headDim = dc?["head_dim"]?.intValue ?? 0
        // The head's own consistency (its hidden size was compared with the base's above).
        let dh = dc?["hidden_size"]?.intValue ?? 0
        add(
            "attention heads", "q \(heads * headDim)×\(dh), k/v \(kvHeads * headDim)×\(dh)",
            "q \(draft.shapes["blk.0.attn_q.weight"].map(Self.shape) ?? "missing"), k/v \(draft.shapes["blk.0.attn_k.weight"].map(Self.shape) ?? "missing")"
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
        let baseTok = base.files["tokenizer.json"], draftTok = draft.files["tokenizer.json"]
        add(
            "tokenizer", baseTok.map { "sha256 " + $0.prefix(12) } ?? "none",
            draftTok.map { "sha256 " + $0.prefix(12) } ?? "none (uses the base's)",
            ok: draftTok == nil || draftTok == baseTok)
        addDTypes(base: base, draft: draft)
        let baseHash = base.contentHash ?? ""
        switch draft.madeFor {
        case _ where !base.converted || !draft.converted:
            add("converted against", "this base", "not converted yet", ok: true)
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
    mutating func addMTPChecks(base: ModelHeader, draft: ModelHeader) {
        let bc = base.config, dc = draft.config
        func add(_ name: String, _ expected: String, _ found: String, ok: Bool? = nil, note: String? = nil) {
            checks.append(
                Check(name: name, ok: ok ?? (expected == found), expected: expected, found: found, note: note))
        }
        func value(_ c: JSONValue?, _ key: String) -> String { c?[key].map(Self.text) ?? "none" }
        add("base architecture", "deepseek_v3", "deepseek_v3")
        let arch = draft.architecture?.rawValue ?? "none"
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
        let layer = draft.shapes.keys.sorted().first { $0.hasPrefix("blk.") && $0.hasSuffix(".nextn.eh_proj.weight") }
        add("MTP layer eh_proj", "\(h)×\(2 * h)", layer.flatMap { draft.shapes[$0] }.map(Self.shape) ?? "missing")
        let baseTok = base.files["tokenizer.json"], draftTok = draft.files["tokenizer.json"]
        add(
            "tokenizer", baseTok.map { "sha256 " + $0.prefix(12) } ?? "none",
            draftTok.map { "sha256 " + $0.prefix(12) } ?? "none (uses the base's)",
            ok: draftTok == nil || draftTok == baseTok)
    }

    static func shape(_ shape: [Int]) -> String { shape.map(String.init).joined(separator: "×") }

    /// The weights' element types, for the record: the converter reads all of these, and a head
    /// stored in another type than its base is converted like it, so a difference is not a misfit.
    mutating func addDTypes(base: ModelHeader, draft: ModelHeader) {
        let b = base.dtypes.joined(separator: "+"), d = draft.dtypes.joined(separator: "+")
        checks.append(
            Check(
                name: "weight types", ok: true, expected: b, found: d,
                note: b == d || base.converted ? nil : "each is converted to the type you choose"))
    }

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
