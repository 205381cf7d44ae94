import Platform
import StrictJSON

/// Any checkpoint hasskit reads — a safetensors file, a PyTorch `.bin`, or a model folder with
/// `config.json` and (possibly sharded) weights — as one sorted list of tensors.
public struct Checkpoint: Sendable {
    public enum Format: String, Sendable {
        case safetensors
        case pytorchZip = "pytorch-zip"
        case pytorchLegacy = "pytorch-legacy"
        case gguf
    }

    /// The path that was opened.
    public let path: String
    public let format: Format
    /// All tensors, sorted by name; names are unique.
    public let tensors: [Tensor]
    /// Free-form metadata: safetensors `__metadata__` entries and, for sharded folders,
    /// `total_size` from the index.
    public let metadata: [String: String]
    /// The weight files read, in order.
    public let files: [String]
    /// `config.json` of a model folder, when present (for a GGUF, made from its metadata).
    public let config: JSONValue?
    /// Files the checkpoint itself describes and a conversion stores as if they sat beside it:
    /// a GGUF's `config.json`, `tokenizer.json` and `tokenizer_config.json`.
    public let generatedFiles: [(String, [UInt8])]

    init(
        path: String, format: Format, tensors: [Tensor], metadata: [String: String], files: [String],
        config: JSONValue?, generatedFiles: [(String, [UInt8])] = []
    ) {
        self.path = path
        self.format = format
        self.tensors = tensors
        self.metadata = metadata
        self.files = files
        self.config = config
        self.generatedFiles = generatedFiles
    }

    /// The tensor named `name`, if present.
    public func tensor(named name: String) -> Tensor? {
        var lo = 0
        var hi = tensors.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if tensors[mid].name < name { lo = mid + 1 } else { hi = mid }
        }
        return lo < tensors.count && tensors[lo].name == name ? tensors[lo] : nil
    }

    /// Opens a file or a model folder.
    ///
    /// In a folder the weights are chosen in this order: `model.safetensors.index.json`,
    /// `model.safetensors`, `pytorch_model.bin.index.json`, `pytorch_model.bin`, then a single
    /// `*.safetensors` or `*.bin` file. A sharded set is checked against its index both ways:
    /// every tensor the index lists is in the shard it names, and every tensor of every shard is
    /// listed.
    /// - Throws: `CheckpointError`.
    public static func open(_ path: String) throws(CheckpointError) -> Checkpoint {
        switch FileSystem.kind(of: path) {
        case .missing: throw CheckpointError(.notFound, path: path)
        case .other: throw CheckpointError(.unrecognizedFormat("not a regular file or folder"), path: path)
        case .file: return try openFile(path)
        case .directory: return try openFolder(path)
        }
    }

    static func openFile(_ path: String) throws(CheckpointError) -> Checkpoint {
        if path.hasSuffix(".index.json") {
            let dir = FileSystem.split(path).directory
            return try openSharded(index: path, folder: dir, config: nil)
        }
        let storage: ByteStorage
        do {
            storage = try ByteStorage(mapping: path)
        } catch {
            throw CheckpointError(error)
        }
        let view = storage.view
        if view.hasBytes(Array("GGUF".utf8)) { return try GGUFCheckpoint.open(view: view, path: path) }
        if view.hasBytes([0x50, 0x4B, 0x03, 0x04]) || view.hasBytes([0x80, 0x02, 0x8A, 0x0A]) {
            let t = try TorchCheckpoint(view: view, path: path)
            return Checkpoint(
                path: path, format: t.variant == .zip ? .pytorchZip : .pytorchLegacy, tensors: t.tensors,
                metadata: [:], files: [path], config: nil)
        }
        if path.hasSuffix(".bin") || path.hasSuffix(".pt") || path.hasSuffix(".pth") {
            throw CheckpointError(
                .unrecognizedFormat("neither a PyTorch zip archive nor a legacy torch.save stream"), path: path)
        }
        let s = try SafetensorsFile(view: view, path: path)
        return Checkpoint(
            path: path, format: .safetensors, tensors: s.tensors, metadata: s.metadata, files: [path], config: nil)
    }

    static func openFolder(_ path: String) throws(CheckpointError) -> Checkpoint {
        let names: [String]
        do {
            names = try FileSystem.contents(of: path)
        } catch {
            throw CheckpointError(error)
        }
        var config: JSONValue?
        if names.contains("config.json") {
            let configPath = FileSystem.join(path, "config.json")
            do {
                config = try JSONParser().parse(try FileSystem.readFile(configPath))
            } catch let e as JSONError {
                throw CheckpointError(.invalidHeader("config.json: \(e.description)"), path: configPath)
            } catch {
                throw CheckpointError(.io("\(error)"), path: configPath)
            }
        }
        for index in ["model.safetensors.index.json", "pytorch_model.bin.index.json"] where names.contains(index) {
            return try openSharded(index: FileSystem.join(path, index), folder: path, config: config)
        }
        var single: String?
        for candidate in ["model.safetensors", "pytorch_model.bin"] where names.contains(candidate) {
            single = candidate
            break
        }
        if single == nil {
            let weights = names.filter { $0.hasSuffix(".safetensors") || $0.hasSuffix(".bin") }
            guard weights.count == 1 else {
                let why =
                    weights.isEmpty
                    ? "no weight files (*.safetensors, *.bin) in the folder"
                    : "several weight files and no index: \(weights.joined(separator: ", "))"
                throw CheckpointError(.unrecognizedFormat(why), path: path)
            }
            single = weights[0]
        }
        guard let single else { throw CheckpointError(.unrecognizedFormat("no weights"), path: path) }
        let c = try openFile(FileSystem.join(path, single))
        return Checkpoint(
            path: path, format: c.format, tensors: c.tensors, metadata: c.metadata, files: c.files, config: config)
    }

    static func openSharded(
        index indexPath: String, folder: String, config: JSONValue?
    ) throws(CheckpointError) -> Checkpoint {
        let isSafetensors = indexPath.hasSuffix(".safetensors.index.json")
        let index = try ShardIndex(path: indexPath, expectedExtension: isSafetensors ? ".safetensors" : ".bin")
        var tensors: [Tensor] = []
        var metadata: [String: String] = [:]
        var files: [String] = []
        var format = Format.safetensors
        for shard in index.shards {
            let shardPath = FileSystem.join(folder, shard)
            guard FileSystem.kind(of: shardPath) == .file else {
                throw CheckpointError(.missingShard(shard), path: indexPath)
            }
            let c = try openFile(shardPath)
            guard (c.format == .safetensors) == isSafetensors else {
                throw CheckpointError(
                    .invalidIndex("shard \(quoted(shard)) is not in the index's format"), path: indexPath)
            }
            format = c.format
            for t in c.tensors {
                guard let listed = index.weightMap[t.name] else {
                    throw CheckpointError(
                        .shardMismatch(
                            tensor: t.name, detail: "is in shard \(quoted(shard)) but not in the weight_map"),
                        path: indexPath)
                }
                guard listed == shard else {
                    throw CheckpointError(
                        .shardMismatch(
                            tensor: t.name,
                            detail: "is in shard \(quoted(shard)) but the weight_map names \(quoted(listed))"),
                        path: indexPath)
                }
            }
            for (k, v) in c.metadata { metadata[k] = v }
            tensors.append(contentsOf: c.tensors)
            files.append(shardPath)
        }
        tensors.sort { $0.name < $1.name }
        let present = Set(tensors.map(\.name))
        for (name, shard) in index.weightMap where !present.contains(name) {
            throw CheckpointError(
                .shardMismatch(
                    tensor: name,
                    detail: "is listed in the weight_map for \(quoted(shard)) but that shard does not hold it"),
                path: indexPath)
        }
        if let total = index.metadata["total_size"], case let .number(n) = total { metadata["total_size"] = n }
        return Checkpoint(
            path: folder, format: format, tensors: tensors, metadata: metadata, files: files, config: config)
    }
}
