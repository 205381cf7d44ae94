/// What a `.hkw` file's `metadata.architecture` says it holds (docs/FORMAT.md): the format defines
/// these names, so the converter writes and the engine and checks read this one type.
public enum HKWArchitecture: String, Sendable, CaseIterable {
    /// LLaMA-2 / LLaMA-3.
    case llama
    /// Qwen2 (q/k/v biases, possibly tied embeddings).
    case qwen2
    /// DeepSeek-V3 / R1 (MLA, MoE, FP8 block scales).
    case deepseekV3 = "deepseek_v3"
    /// A HASS (EAGLE-1 layout) draft head.
    case eagleHead = "eagle_head"
    /// DeepSeek's multi-token-prediction layer, converted as a draft (`convert --layers mtp`).
    case deepseekMTP = "deepseek_mtp"

    /// A base model that LlamaModel runs.
    public var isLlamaLike: Bool { self == .llama || self == .qwen2 }

    /// What a file of this architecture is in a pair (`metadata.role`).
    public var role: HKWRole { self == .eagleHead || self == .deepseekMTP ? .draft : .base }
}

/// A `.hkw` file's `metadata.role`: the model a pair decodes with, or the draft that proposes.
public enum HKWRole: String, Sendable {
    case base
    case draft
}

extension HKWFile {
    /// The architecture the header names, nil when it names none hasskit knows.
    public var architecture: HKWArchitecture? {
        metadata["architecture"]?.stringValue.flatMap(HKWArchitecture.init(rawValue:))
    }
}
