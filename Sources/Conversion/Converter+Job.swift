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

        /// `--draft-of`: a head whose embedding equals its base's leaves it out (the engine reads
        /// the base's) and records which base it was checked against.
        mutating func shareWithBase(_ basePath: String, source: String, log: (String) -> Void) throws {
            guard family == .eagleHead else {
                throw ConversionError(
                    .draftBase("--draft-of applies to HASS draft heads; this is a \(family.rawValue) checkpoint"),
                    path: source)
            }
            let base = try HKWFile(path: basePath)
            baseHash = base.contentHash
            if let i = plan.firstIndex(where: { $0.canonical == "token_embd.weight" }),
                try embeddingMatches(plan[i].source, base: base, basePath: basePath)
            {
                plan.remove(at: i)
                shared.append("token_embd.weight")
                log("token_embd.weight equals the base's embedding: not stored (the engine reads the base's)")
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
