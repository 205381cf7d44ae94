import Checkpoints
import Quantization

extension Converter {
    /// With `interleave`, Q8_0, Q4_0, Q4_K, Q5_0 and Q6_K matrices whose rows come in whole groups
    /// of 8 are stored row-interleaved (Q8_0_R8 … Q6_K_R8: the same blocks, laid out for the
    /// engine's kernels);
    /// the token embedding stays row after row, as the engine looks rows up in it.
    static func makePlan(
        _ checkpoint: Checkpoint, family: ModelFamily, type: ConversionType, interleave: Bool = true,
        outputType: ConversionType? = nil, source: String
    ) throws -> [Planned] {
        let hasFP8 = checkpoint.tensors.contains { $0.dtype == .f8e4m3 }
        let layers = checkpoint.config?["num_hidden_layers"]?.intValue ?? 1
        let heads = checkpoint.config?["num_attention_heads"]?.intValue
        let kvHeads = checkpoint.config?["num_key_value_heads"]?.intValue ?? heads
        // llama.cpp's LLM_TYPE_70B: a LLaMA of 80 layers with grouped-query attention.
        let seventyB = family == .llama && layers == 80 && kvHeads != nil && kvHeads != heads
        // With tied embeddings the token embedding is also the output head (not in a draft head,
        // which borrows its base's head).
        let tied =
            family != .eagleHead
            && !checkpoint.tensors.contains { NameMap.canonical($0.name, family: family) == "output.weight" }
        var plan: [Planned] = []
        var seen = Set<String>()
        for t in checkpoint.tensors {
            guard let canonical = NameMap.canonical(t.name, family: family) else {
                throw ConversionError(.unexpectedTensor(t.name, family: family.rawValue), path: t.file)
            }
            if canonical.isEmpty { continue }
            guard seen.insert(canonical).inserted else {
                throw ConversionError(
                    .unexpectedTensor("\(t.name) (a second tensor for \(canonical))", family: family.rawValue),
                    path: t.file)
            }
            guard [.f32, .f16, .bf16, .f8e4m3, .f64].contains(t.dtype) || t.dtype.ggmlBlock != nil else {
                throw ConversionError(.unsupportedElementType(tensor: t.name, dtype: t.dtype.rawValue), path: t.file)
            }
            if t.name.hasSuffix("_scale_inv") {
                // Consumed by its weight (dequantized), or kept next to it for fp8 output.
                if type == .fp8 {
                    plan.append(
                        Planned(
                            canonical: canonical, source: t, scale: t, type: .f32, shape: t.shape, mode: .fp8Scales,
                            fallback: false))
                }
                continue
            }
            let scale = t.dtype == .f8e4m3 ? checkpoint.tensor(named: FP8BlockScale.scaleName(for: t.name)) : nil
            let rows = t.shape.count >= 2
            let columns = t.shape.last ?? 1
            func entry(_ q: QuantType, _ mode: Mode, fallback: Bool = false) -> Planned {
                Planned(
                    canonical: canonical, source: t, scale: scale, type: q, shape: t.shape, mode: mode,
                    fallback: fallback)
            }
            if !rows {
                plan.append(entry(.f32, t.dtype == .f32 ? .copy : .encode))
                continue
            }
            let outputHead = canonical == "output.weight" || (tied && canonical == "token_embd.weight")
            let type = outputHead ? (outputType ?? type) : type
            switch type {
            case .f32, .f16, .bf16:
                let q: QuantType = type == .f32 ? .f32 : type == .f16 ? .f16 : .bf16
                plan.append(entry(q, t.dtype.rawValue == q.rawValue ? .copy : .encode))
            case .q8_0, .q4_0, .q5_0, .q4_k, .q6_k, .q4_k_m:
                let wanted = blockType(
                    for: canonical, type: type, layers: layers, columns: columns,
                    outputHead: outputHead && outputType == nil, seventyB: seventyB)
                let q = [wanted, incompatibleFallback(wanted)].first { columns % $0.blockSize == 0 }
                if var q {
                    let fallback = q != wanted
                    // A GGUF tensor already in this block type is kept as it is.
                    let keep = t.dtype.rawValue == q.rawValue.uppercased()
                    if let fast = q.interleaved, interleave, canonical != "token_embd.weight",
                        fast.shapeProblem(t.shape) == nil
                    {
                        q = fast
                    }
                    plan.append(entry(q, keep ? .copyBlocks : .encode, fallback: fallback))
                } else {
                    plan.append(entry(.f16, t.dtype == .f16 ? .copy : .encode, fallback: true))
                }
            case .fp8:
                if t.dtype == .f8e4m3 {
                    var e = entry(.f8e4m3, .copy)
                    e.scale = nil
                    plan.append(e)
                } else if !hasFP8 && t.shape.count == 2 && isProjection(canonical) {
                    plan.append(entry(.f8e4m3, .fp8Quantize))
                    let scaleShape = t.shape.map { ($0 + FP8BlockScale.defaultBlock - 1) / FP8BlockScale.defaultBlock }
                    plan.append(
                        Planned(
                            canonical: canonical + "_scale_inv", source: t, scale: nil, type: .f32, shape: scaleShape,
                            mode: .fp8Scales, fallback: false))
                } else if let same = HKWCopy.storageType(for: t.dtype) {
                    plan.append(entry(same, .copy))
                } else {
                    plan.append(entry(.f32, .encode))
                }
            }
        }
        return plan.sorted { naturalLess($0.canonical, $1.canonical) }
    }

    /// Keeps the tensors of the given decoder layers; every requested layer must exist.
    static func selectLayers(_ plan: [Planned], layers: Set<Int>, source: String) throws -> [Planned] {
        func layer(_ name: String) -> Int? {
            let parts = name.split(separator: ".")
            return parts.count > 2 && parts[0] == "blk" ? Int(parts[1]) : nil
        }
        let kept = plan.filter { layer($0.canonical).map(layers.contains) ?? false }
        let found = Set(kept.compactMap { layer($0.canonical) })
        if let missing = layers.subtracting(found).sorted().first {
            let available = Set(plan.compactMap { layer($0.canonical) }).sorted()
            throw ConversionError(
                .missingLayer(missing, available: "\(available.first ?? 0)–\(available.last ?? 0)"), path: source)
        }
        return kept
    }

    /// The type llama.cpp's `llama_tensor_get_type` puts in place of a K-quant whose rows are not a
    /// multiple of 256 (its `convert_incompatible_tensor` switch): Q4_K → Q5_0, Q5_K → Q5_1,
    /// Q6_K → Q8_0. A type that still does not fit becomes F16 there, and here.
    package static func incompatibleFallback(_ wanted: QuantType) -> QuantType {
        switch wanted {
        case .q4_k: return .q5_0
        case .q5_k: return .q5_1
        default: return .q8_0
        }
    }

    /// The block type a weight gets, as llama.cpp's `llama_tensor_get_type` (src/llama-quant.cpp)
    /// chooses it for the same tensor and layer count:
    /// - the output head (or the tied token embedding that serves as it) is Q6_K for the 4- and
    ///   5-bit types, Q8_0 where its rows are not a multiple of 256 (llama.cpp: `nx % QK_K != 0`);
    /// - `q4_k` is llama.cpp's Q4_K_S: Q5_K for `attn_v` in the first 4 layers and `ffn_down` in
    ///   the first eighth, Q4_K for everything else;
    /// - `q4_k_m` is llama.cpp's Q4_K_M: Q6_K for `attn_v` and `ffn_down` in the first and last
    ///   eighth of the layers and every third layer between them (`use_more_bits`), Q4_K for
    ///   everything else;
    /// - in a 70 B LLaMA (80 layers, grouped-query attention), an `attn_v` still at Q4_K becomes
    ///   Q5_K: eight heads share it, so more bits cost little.
    /// llama.cpp counts `attn_v` and `ffn_down` tensors in file order; in the dense models here that
    /// count is the layer index.
    package static func blockType(
        for canonical: String, type: ConversionType, layers: Int, columns: Int, outputHead: Bool,
        seventyB: Bool = false
    ) -> QuantType {
        if outputHead, [.q4_0, .q5_0, .q4_k, .q4_k_m].contains(type) {
            return columns % QuantType.q6_k.blockSize == 0 ? .q6_k : .q8_0
        }
        switch type {
        case .q8_0: return .q8_0
        case .q4_0: return .q4_0
        case .q5_0: return .q5_0
        case .q6_k: return .q6_k
        default: break
        }
        let parts = canonical.split(separator: ".")
        guard parts.count >= 3, parts[0] == "blk", let layer = Int(parts[1]) else { return .q4_k }
        let n = max(layers, 1)
        let moreBits = layer < n / 8 || layer >= 7 * n / 8 || (layer - n / 8) % 3 == 2
        switch parts[2] {
        case "attn_v":
            let chosen: QuantType =
                type == .q4_k_m && moreBits ? .q6_k : type == .q4_k && layer < 4 ? .q5_k : .q4_k
            return seventyB && chosen == .q4_k ? .q5_k : chosen
        case "ffn_down":
            return type == .q4_k_m && moreBits ? .q6_k : type == .q4_k && layer < n / 8 ? .q5_k : .q4_k
        default:
            return .q4_k
        }
    }

    /// Linear projections inside blocks (not embeddings, the output head or MoE routers).
    static func isProjection(_ canonical: String) -> Bool {
        canonical.hasPrefix("blk.") && !canonical.contains("ffn_gate_inp") && !canonical.contains("embed")
            && !canonical.contains("shared_head_head")
    }

    /// Orders `blk.2.x` before `blk.10.x`; keeps a weight's `_scale_inv` right after it.
    static func naturalLess(_ a: String, _ b: String) -> Bool {
        func key(_ s: String) -> [(Int, String)] {
            s.split(separator: ".").map { part in Int(part).map { ($0, "") } ?? (Int.max, String(part)) }
        }
        let ka = key(a), kb = key(b)
        for (x, y) in zip(ka, kb) where x != y {
            return x.0 != y.0 ? x.0 < y.0 : x.1 < y.1
        }
        return ka.count < kb.count
    }
}
