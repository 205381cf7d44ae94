import WeightFormat
import Checkpoints
import StrictJSON

/// The kinds of checkpoint hasskit converts, recognised from `config.json` and the tensor names.
public enum ModelFamily: String, Sendable {
    /// LLaMA-2 / LLaMA-3 (`LlamaForCausalLM`).
    case llama
    /// Qwen2 (`Qwen2ForCausalLM`): q/k/v biases, possibly tied embeddings.
    case qwen2
    /// DeepSeek-V3 / R1 (`DeepseekV3ForCausalLM`): MLA, MoE, FP8 block scales, an MTP layer.
    case deepseekV3 = "deepseek_v3"
    /// An EAGLE-1-style HASS draft head: `fc` + one decoder layer, no `model.` prefix.
    case eagleHead = "eagle_head"

    /// What a converted file of this family says it holds.
    public var architecture: HKWArchitecture {
        switch self {
        case .llama: return .llama
        case .qwen2: return .qwen2
        case .deepseekV3: return .deepseekV3
        case .eagleHead: return .eagleHead
        }
    }

    /// Recognises the family. Heads are told apart by their tensors (`fc.weight` and `layers.0.*`
    /// without a `model.` prefix), because their configs claim `LlamaForCausalLM`.
    public static func detect(config: JSONValue?, tensorNames: [String], path: String) throws -> ModelFamily {
        if tensorNames.contains("fc.weight") && tensorNames.contains(where: { $0.hasPrefix("layers.0.") }) {
            return .eagleHead
        }
        let architecture = config?["architectures"]?.arrayValue?.first?.stringValue ?? ""
        let modelType = config?["model_type"]?.stringValue ?? ""
        switch (architecture, modelType) {
        case ("LlamaForCausalLM", _), (_, "llama"): return .llama
        case ("Qwen2ForCausalLM", _), (_, "qwen2"): return .qwen2
        case ("DeepseekV3ForCausalLM", _), (_, "deepseek_v3"): return .deepseekV3
        default:
            if config == nil {
                throw ConversionError(
                    .unknownFamily("no config.json beside the weights, and the tensors are not a HASS head"), path: path
                )
            }
            throw ConversionError(
                .unknownFamily(
                    "architectures \(architecture.isEmpty ? "(none)" : architecture), model_type \(modelType.isEmpty ? "(none)" : modelType)"
                ), path: path)
        }
    }
}
