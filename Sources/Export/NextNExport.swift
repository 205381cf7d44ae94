import Checkpoints
import Foundation
import StrictJSON

/// DeepSeek's multi-token-prediction (NextN) layer as a draft (hass-spec §2, handoff.md §3, §5).
///
/// The layer is found in the draft checkpoint under `model.layers.{i}.` with i = the config's
/// `num_hidden_layers` (a full checkpoint, or HASS's layout with the full config), or 0 when the
/// config already says `num_hidden_layers: 1` (SGLang's export layout). FP8 weights and their
/// `weight_scale_inv` are copied byte for byte; `eh_proj` and the norms must be BF16 without a
/// scale (both engines build them unquantized), and FP8 copies of them are dequantized.
///
/// - SGLang: layout A, `DeepseekV3ForCausalLMNextN` with `num_hidden_layers: 1`, tensors renamed
///   to `model.layers.0.*`, no `embed_tokens` or `shared_head.head` (taken from the target).
/// - vLLM: layout B, the full config untouched, tensors under `model.layers.{num_hidden_layers}.*`,
///   with `embed_tokens` and `shared_head.head` included (copied from the base when the draft has
///   none), so that a missing head can never go unnoticed.
enum NextNExport {
    static func plan(
        _ r: Exporter.Request, base: JSONValue, draftConfig: JSONValue, draft: Checkpoint
    ) throws -> ExportPlan {
        let layers = draftConfig["num_hidden_layers"]?.intValue ?? 0
        let fullLayers = base["num_hidden_layers"]?.intValue ?? layers
        let candidates = layers == 1 ? [0, fullLayers] : [layers]
        guard
            let index = candidates.first(where: { i in
                draft.tensors.contains { $0.name.hasPrefix("model.layers.\(i).eh_proj.") }
            })
        else {
            throw ExportError(
                "no multi-token-prediction layer (model.layers.N.eh_proj.weight with N = \(candidates.map(String.init).joined(separator: " or ")))",
                location: r.draft)
        }
        let prefix = "model.layers.\(index)."
        let layer = draft.tensors.filter { $0.name.hasPrefix(prefix) }
        let (_, dtypeName) = try Exporter.dtype(of: base, location: r.base + "/config.json")
        var notes: [String] = [], warnings: [String] = []
        let plain: Set<String> = ["eh_proj.weight", "enorm.weight", "hnorm.weight", "shared_head.norm.weight"]
        let targetIndex = r.engine == .sglang ? 0 : fullLayers
        let outPrefix = "model.layers.\(targetIndex)."
        var entries: [SafetensorsWriter.Entry] = []
        let byName = Dictionary(uniqueKeysWithValues: draft.tensors.map { ($0.name, $0) })
        for t in layer {
            let local = String(t.name.dropFirst(prefix.count))
            if local.hasSuffix("_scale_inv") && plain.contains(local.replacingOccurrences(of: "_scale_inv", with: "")) {
                continue
            }
            let dropped = local == "embed_tokens.weight" || local == "shared_head.head.weight"
            if r.engine == .sglang && dropped { continue }
            if plain.contains(local) || local.hasSuffix("norm.weight") {
                // Must be BF16 without a scale.
                if t.dtype == .bf16 {
                    entries.append(copy(t, as: outPrefix + local))
                } else {
                    let values: [Float]
                    if t.dtype == .f8e4m3, let scale = byName[t.name + "_scale_inv"] {
                        values = try FP8BlockScale.dequantize(weight: t, scale: scale)
                        notes.append("\(local): FP8 dequantized to BF16 (both engines build it unquantized)")
                    } else {
                        values = try Exporter.floats(t, location: r.draft)
                        notes.append("\(local): \(t.dtype.rawValue) stored as BF16")
                    }
                    entries.append(
                        SafetensorsWriter.Entry(name: outPrefix + local, dtype: .bf16, shape: t.shape) {
                            Exporter.encode(values, as: .bf16)
                        })
                }
                continue
            }
            entries.append(copy(t, as: outPrefix + local))
        }
        if r.engine == .vllm {
            // The embedding and head copies vLLM's loader maps; taken from the base when absent.
            for (local, baseName) in [
                ("embed_tokens.weight", "model.embed_tokens.weight"), ("shared_head.head.weight", "lm_head.weight"),
            ]
            where !entries.contains(where: { $0.name == outPrefix + local }) {
                let baseCheckpoint = try Checkpoint.open(r.base)
                guard let t = baseCheckpoint.tensor(named: baseName) else {
                    throw ExportError("the draft has no \(local) and the base no \(baseName) to copy", location: r.base)
                }
                entries.append(copy(t, as: outPrefix + local))
                notes.append("\(local) copied from the base's \(baseName)")
            }
        } else {
            notes.append("embed_tokens and shared_head.head left out: SGLang takes both from the target")
        }
        entries.sort { $0.name < $1.name }
        // Scales belong to FP8 weights of ceil-divided block shape.
        let block =
            draftConfig["quantization_config"]?["weight_block_size"]?.arrayValue?.compactMap(\.intValue) ?? [128, 128]
        for e in entries where e.dtype == .f8e4m3 {
            guard let scale = entries.first(where: { $0.name == e.name + "_scale_inv" }) else {
                throw ExportError("FP8 tensor \(e.name) has no weight_scale_inv", location: r.draft)
            }
            let want = zip(e.shape, block).map { ($0 + $1 - 1) / $1 }
            guard scale.shape == want else {
                throw ExportError(
                    "\(scale.name) is \(scale.shape); \(e.shape) in \(block) blocks needs \(want)", location: r.draft)
            }
        }

        var config: JSONValue
        if r.engine == .sglang {
            var members = (draftConfig.objectMembers ?? []).filter {
                !["architectures", "num_hidden_layers", "num_nextn_predict_layers"].contains($0.0)
            }
            members = [("architectures", .array([.string("DeepseekV3ForCausalLMNextN")]))] + members
            members += [("num_hidden_layers", .int(1)), ("num_nextn_predict_layers", .int(1))]
            config = .object(members)
            notes.append("layout A (SGLang's NextN export): layer \(index) renamed model.layers.0, num_hidden_layers 1")
        } else {
            var members = (draftConfig.objectMembers ?? []).filter { $0.0 != "num_hidden_layers" }
            members.append(("num_hidden_layers", .int(fullLayers)))
            config = .object(members)
            notes.append(
                "layout B (full-checkpoint naming): layer \(index) as model.layers.\(fullLayers), num_hidden_layers \(fullLayers)"
            )
        }
        if draftConfig["quantization_config"] != nil {
            warnings.append(
                "block-FP8 GEMMs need Hopper-class GPUs; on A100-class GPUs cast base and draft to BF16 and drop quantization_config"
            )
        }
        let launch = LaunchPlan(
            engine: r.engine, kind: "deepseek-mtp", base: r.baseReference, draft: r.out + "/draft", dtype: dtypeName,
            tree: r.tree, nodes: r.nodes, gpusPerNode: r.gpusPerNode)
        return ExportPlan(
            engine: r.engine, kind: "deepseek-mtp", config: config, tensors: entries, writesIndex: true,
            notes: notes, warnings: warnings + launch.warnings, launch: launch, foldCheck: nil)
    }

    static func copy(_ t: Tensor, as name: String) -> SafetensorsWriter.Entry {
        SafetensorsWriter.Entry(name: name, dtype: t.dtype, shape: t.shape) { t.contiguousData().array }
    }
}
