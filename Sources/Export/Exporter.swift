import Checkpoints
import Foundation
import Platform
import StrictJSON

/// The serving engines hasskit prepares pairs for.
public enum Engine: String, Sendable, CaseIterable {
    case sglang, vllm
}

/// Draft-tree settings in HASS's convention (depth = draft levels − 1), which the launch plan
/// turns into each engine's flags.
public struct ExportTree: Sendable, Equatable {
    public var topK: Int
    public var depth: Int
    /// Tree nodes including the root.
    public var totalTokens: Int

    public init(topK: Int, depth: Int, totalTokens: Int) {
        self.topK = topK
        self.depth = depth
        self.totalTokens = totalTokens
    }

    /// HASS's published GPU tree (top-k 10, depth 5, 60 nodes).
    public static let published = ExportTree(topK: 10, depth: 5, totalTokens: 60)
}

/// What `hasskit export` will write for one engine (computed without writing anything, so
/// `--dry-run` prints exactly this): the draft folder's config and tensors, the rules applied,
/// and the launch plan.
public struct ExportPlan {
    public var engine: Engine
    /// `eagle1-head` or `deepseek-mtp`.
    public var kind: String
    /// The draft folder's config.json.
    public var config: JSONValue
    /// The draft's tensors in file order.
    public var tensors: [SafetensorsWriter.Entry]
    /// Whether the folder also gets a `model.safetensors.index.json` (DeepSeek layouts).
    public var writesIndex: Bool
    /// One line per rule applied (bias zero-filled or folded, embedding dropped, …).
    public var notes: [String]
    /// Problems an engine user must know (chain-only drafting, FP8 hardware, …).
    public var warnings: [String]
    public var launch: LaunchPlan
    /// For a folded `fc.bias`: the largest relative difference between the original and the
    /// exported head on random inputs (hasskit's f32 reference of the layer).
    public var foldCheck: Double?

    public var safetensorsBytes: Int { SafetensorsWriter.fileSize(tensors) }
}

/// Builds, writes and re-checks exports.
public enum Exporter {
    /// The inputs: the base and draft checkpoint folders (HF layout), how the commands should
    /// name the base (a path or a repo id), and the cluster shape.
    public struct Request {
        public var base: String
        public var draft: String
        public var engine: Engine
        public var baseReference: String
        public var draftKind: String?
        public var tree: ExportTree
        public var nodes: Int
        public var gpusPerNode: Int
        /// Absolute path of the export folder (the commands point at its draft).
        public var out: String

        public init(
            base: String, draft: String, engine: Engine, baseReference: String? = nil, draftKind: String? = nil,
            tree: ExportTree = .published, nodes: Int = 1, gpusPerNode: Int = 1, out: String
        ) {
            self.base = base
            self.draft = draft
            self.engine = engine
            self.baseReference = baseReference ?? base
            self.draftKind = draftKind
            self.tree = tree
            self.nodes = nodes
            self.gpusPerNode = gpusPerNode
            self.out = out
        }
    }

    /// Plans the export (reads headers and the few tensors the rules need; writes nothing).
    public static func plan(_ request: Request) throws -> ExportPlan {
        let baseConfig = try readConfig(request.base)
        let draftCheckpoint = try Checkpoint.open(request.draft)
        let draftConfig = try draftCheckpoint.config.map { $0 } ?? readConfig(request.draft)
        let isMTP = request.draftKind == "deepseek-mtp" || draftConfig["model_type"]?.stringValue == "deepseek_v3"
        if isMTP {
            return try NextNExport.plan(request, base: baseConfig, draftConfig: draftConfig, draft: draftCheckpoint)
        }
        return try HeadExport.plan(request, base: baseConfig, draftConfig: draftConfig, draft: draftCheckpoint)
    }

    /// Writes the plan into `request.out` (`draft/`, `launch.sh`, `README.md`, `EXPORT.json`),
    /// each file under a temporary name until complete, then re-reads the draft and checks it
    /// against the plan.
    /// - Throws: `ExportError` when `out` holds files and `force` is false, or when the written
    ///   draft does not re-read as planned.
    @discardableResult
    public static func write(
        _ plan: ExportPlan, request: Request, force: Bool, provenance: JSONValue
    ) throws -> [String: Int] {
        let out = request.out
        let existing = (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []
        if !existing.isEmpty && !force {
            throw ExportError(
                "already holds files (\(existing.sorted().prefix(3).joined(separator: ", "))…); choose another --out or pass --force",
                location: out, kind: .outputExists)
        }
        let draftDir = out + "/draft"
        do {
            try FileSystem.createDirectory(draftDir)
        } catch {
            throw ExportError("cannot create the folder: \(error.localizedDescription)", location: draftDir, kind: .io)
        }
        var written: [String: Int] = [:]
        func text(_ relative: String, _ content: String, executable: Bool = false) throws {
            let w = try AtomicFileWriter(path: out + "/" + relative)
            try w.write(Array(content.utf8))
            try w.commit()
            if executable { chmod(out + "/" + relative, 0o755) }
            written[relative] = content.utf8.count
        }
        written["draft/model.safetensors"] = try SafetensorsWriter.write(
            plan.tensors, to: draftDir + "/model.safetensors")
        try text("draft/config.json", plan.config.serialized(pretty: true) + "\n")
        if plan.writesIndex {
            let map = JSONValue.object(plan.tensors.map { ($0.name, .string("model.safetensors")) })
            let index = JSONValue.object([
                ("metadata", .object([("total_size", .int(plan.tensors.reduce(0) { $0 + $1.byteCount }))])),
                ("weight_map", map),
            ])
            try text("draft/model.safetensors.index.json", index.serialized(pretty: true) + "\n")
        }
        try text("launch.sh", plan.launch.script, executable: true)
        try text("README.md", plan.launch.readme(plan: plan))
        let problems = try validate(folder: draftDir, plan: plan)
        guard problems.isEmpty else {
            throw ExportError(
                "the written draft does not match the plan: " + problems.joined(separator: "; "), location: draftDir)
        }
        try text(
            "EXPORT.json",
            JSONValue.object([
                ("engine", .string(plan.engine.rawValue)), ("kind", .string(plan.kind)), ("source", provenance),
                ("rules", .array(plan.notes.map { .string($0) })),
                ("warnings", .array(plan.warnings.map { .string($0) })),
                ("fold_check_max_relative_difference", plan.foldCheck.map { .double($0) } ?? .null),
                ("files", .object(written.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })),
                ("commands", .array(plan.launch.commands.map { .string($0) })),
            ]).serialized(pretty: true) + "\n")
        return written
    }

    /// Re-reads a written draft folder with the strict reader and compares every tensor's name,
    /// dtype and shape (and nothing more, nothing less) and the config's key rules with the plan.
    public static func validate(folder: String, plan: ExportPlan) throws -> [String] {
        var problems: [String] = []
        let checkpoint: Checkpoint
        do { checkpoint = try Checkpoint.open(folder) } catch { return ["\(error)"] }
        let found = Dictionary(uniqueKeysWithValues: checkpoint.tensors.map { ($0.name, $0) })
        let expected = Set(plan.tensors.map(\.name))
        for name in Set(found.keys).subtracting(expected).sorted() { problems.append("unexpected tensor \(name)") }
        for t in plan.tensors {
            guard let f = found[t.name] else { problems.append("missing tensor \(t.name)"); continue }
            if f.dtype != t.dtype || f.shape != t.shape {
                problems.append(
                    "\(t.name): expected \(t.dtype.rawValue) \(t.shape), found \(f.dtype.rawValue) \(f.shape)")
            }
        }
        let config = checkpoint.config ?? .null
        for key in ["architectures", "model_type", "vocab_size", "num_hidden_layers", "max_position_embeddings"]
        where config[key] != plan.config[key] {
            problems.append(
                "config \(key): expected \(plan.config[key]?.serialized() ?? "absent"), found \(config[key]?.serialized() ?? "absent")"
            )
        }
        if config["bias"] != nil {
            problems.append("config has a top-level \"bias\" key (vLLM reads it as attention bias)")
        }
        return problems
    }

    static func readConfig(_ folder: String) throws -> JSONValue {
        let path = folder + "/config.json"
        guard FileSystem.kind(of: path) == .file else {
            throw ExportError(
                "no config.json: give the model's folder (config.json beside the weights)", location: folder)
        }
        do {
            return try JSONParser(maxDepth: 64).parse(try FileSystem.readFile(path))
        } catch {
            throw ExportError("config.json does not parse: \(error)", location: path)
        }
    }

    /// The base's dtype (`torch_dtype`, or transformers 5's `dtype`) as a safetensors dtype.
    static func dtype(of config: JSONValue, location: String) throws -> (DType, String) {
        let name = config["torch_dtype"]?.stringValue ?? config["dtype"]?.stringValue ?? "bfloat16"
        switch name {
        case "float16": return (.f16, name)
        case "bfloat16": return (.bf16, name)
        case "float32": return (.f32, name)
        default: throw ExportError("base dtype \(name) is not float16, bfloat16 or float32", location: location)
        }
    }

    /// Little-endian bytes of `values` in `dtype`.
    static func encode(_ values: [Float], as dtype: DType) -> [UInt8] {
        var out: [UInt8] = []
        switch dtype {
        case .f16, .bf16:
            let halves = dtype == .f16 ? ElementEncoding.f16(values) : ElementEncoding.bf16(values)
            out.reserveCapacity(halves.count * 2)
            for h in halves { out.append(UInt8(h & 0xFF)); out.append(UInt8(h >> 8)) }
        default:
            out.reserveCapacity(values.count * 4)
            for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
        }
        return out
    }

    /// A tensor's values as f32.
    static func floats(_ t: Tensor, location: String) throws -> [Float] {
        do { return try t.floats() } catch {
            throw ExportError("cannot read tensor \(t.name): \(error)", location: location)
        }
    }
}
