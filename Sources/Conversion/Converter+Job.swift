import Checkpoints
import StrictJSON
import WeightFormat

extension Converter {
    /// What one conversion writes, decided before the first byte: the opened checkpoint, its
    /// family, the plan of every tensor, and what the header says of the result.
    struct Job {
        let checkpoint: Checkpoint
        let family: ModelFamily
        let options: Options
        var plan: [Planned]
        var architecture: HKWArchitecture
        var config: [(String, JSONValue)]
        /// Canonical names left out because the base provides them (a head's embedding).
        var shared: [String] = []
        var baseHash: String?

        init(source: String, options: Options, log: (String) -> Void) throws {
            checkpoint = try Checkpoint.open(source)
            self.options = options
            try ConversionPolicy.check(checkpoint)
            let names = checkpoint.tensors.map(\.name)
            family = try ModelFamily.detect(config: checkpoint.config, tensorNames: names, path: source)
            let hyper = try CanonicalConfig.make(
                config: checkpoint.config, family: family, tensorNames: Set(names), path: source)
            plan = try makePlan(
                checkpoint, family: family, type: options.type, interleave: options.interleave,
                outputType: options.outputType, source: source)
            architecture = family.architecture
            config = hyper.objectMembers ?? []
            if let layers = options.layers { try keepLayers(layers, source: source) }
            if let basePath = options.draftOf { try shareWithBase(basePath, source: source, log: log) }
        }

        /// `--layers`: keeps the given decoder layers; DeepSeek's extra layers are its
        /// multi-token-prediction module, which makes the result an MTP draft.
        mutating func keepLayers(_ layers: [Int], source: String) throws {
            plan = try selectLayers(plan, layers: Set(layers), source: source)
            let total = checkpoint.config?["num_hidden_layers"]?.intValue ?? -1
            let nextn = checkpoint.config?["num_nextn_predict_layers"]?.intValue ?? 0
            if family == .deepseekV3, nextn > 0, Set(layers) == Set(total..<(total + nextn)) {
                architecture = .deepseekMTP
            }
            config.append(("layers", .array(layers.sorted().map { .int($0) })))
        }

        /// `--draft-of`: a HASS head whose embedding equals its base's leaves it out (the engine
        /// reads the base's), and so does a DeepSeek MTP draft (`--layers mtp`) with its copies of
        /// the embedding and the output head (1.85 GB each at R1's size); the base checked
        /// against is recorded.
        mutating func shareWithBase(_ basePath: String, source: String, log: (String) -> Void) throws {
            let mtp = family == .deepseekV3 && architecture == .deepseekMTP
            guard family == .eagleHead || mtp else {
                throw ConversionError(
                    .draftBase(
                        "--draft-of applies to HASS draft heads and DeepSeek MTP drafts (--layers mtp); this is a \(family.rawValue) checkpoint"
                    ), path: source)
            }
            let base = try HKWFile(path: basePath)
            baseHash = base.contentHash
            let copies: [(suffix: String, baseName: String)] =
                mtp
                ? [
                    (".nextn.embed_tokens.weight", "token_embd.weight"),
                    (".nextn.shared_head_head.weight", "output.weight"),
                ]
                : [("token_embd.weight", "token_embd.weight")]
            for (suffix, baseName) in copies {
                for name in plan.map(\.canonical) where name == suffix || name.hasSuffix(suffix) {
                    guard let i = plan.firstIndex(where: { $0.canonical == name }),
                        try matchesBase(plan[i].source, baseName: baseName, base: base, basePath: basePath)
                    else { continue }
                    plan.remove(at: i)
                    shared.append(name)
                    log("\(name) equals the base's \(baseName): not stored (the engine reads the base's)")
                }
            }
        }

        /// The header before the tensors are written (the provenance's digests and the quality
        /// table are filled in at commit); `files` are the auxiliary files stored.
        func metadata(files: [String]) throws -> [(String, JSONValue)] {
            var metadata: [(String, JSONValue)] = [
                ("architecture", .string(architecture.rawValue)),
                ("role", .string(architecture.role.rawValue)),
                ("config", .object(config)),
                ("provenance", try makeProvenance(checkpoint, options: options, digests: nil)),
            ]
            if let baseHash {
                metadata.append(("base_content_hash", .string(baseHash)))
                metadata.append(("shared_with_base", .array(shared.map { .string($0) })))
            }
            if files.contains("tokenizer.json") {
                metadata.append(
                    ("tokenizer", .object([("file", .string("tokenizer.json")), ("kind", .string("tokenizer.json"))])))
            } else if files.contains("tokenizer.model") {
                metadata.append(
                    ("tokenizer", .object([("file", .string("tokenizer.model")), ("kind", .string("sentencepiece"))])))
            }
            return metadata
        }
    }
}
