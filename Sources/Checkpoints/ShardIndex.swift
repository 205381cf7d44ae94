import Platform
import StrictJSON

/// A `model.safetensors.index.json` (or `pytorch_model.bin.index.json`): which shard holds
/// which tensor.
public struct ShardIndex: Sendable {
    /// Tensor name → shard file name (relative to the index's folder).
    public let weightMap: [String: String]
    /// The `metadata` object (`total_size` is advisory).
    public let metadata: [String: JSONValue]
    /// Shard file names in first-appearance order.
    public let shards: [String]

    /// Parses and validates an index file.
    ///
    /// Shard names must be plain relative file names: no `..`, no absolute or drive-letter path,
    /// no UNC prefix, no backslash, and the extension of the index's own format (a safetensors
    /// index may not point at pickle files).
    /// - Throws: `CheckpointError`.
    public init(path: String, expectedExtension: String) throws(CheckpointError) {
        let bytes: [UInt8]
        do {
            bytes = try FileSystem.readFile(path)
        } catch {
            throw CheckpointError(error)
        }
        let json: JSONValue
        do {
            json = try JSONParser(maxDepth: 16).parse(bytes)
        } catch {
            throw CheckpointError(.invalidIndex(error.description), path: path)
        }
        guard let map = json["weight_map"]?.objectMembers else {
            throw CheckpointError(.invalidIndex("no weight_map object"), path: path)
        }
        var weightMap: [String: String] = [:]
        var shards: [String] = []
        var seen = Set<String>()
        for (name, value) in map {
            guard let shard = value.stringValue else {
                throw CheckpointError(.invalidIndex("weight_map value for \(quoted(name)) is not a string"), path: path)
            }
            guard ShardIndex.isSafeShardName(shard) else { throw CheckpointError(.unsafeShardPath(shard), path: path) }
            guard shard.hasSuffix(expectedExtension) else {
                throw CheckpointError(
                    .invalidIndex("shard \(quoted(shard)) does not have the index's extension \(expectedExtension)"),
                    path: path)
            }
            weightMap[name] = shard
            if seen.insert(shard).inserted { shards.append(shard) }
        }
        var metadata: [String: JSONValue] = [:]
        if let m = json["metadata"] {
            guard let members = m.objectMembers else {
                throw CheckpointError(.invalidIndex("metadata is not an object"), path: path)
            }
            for (k, v) in members { metadata[k] = v }
        }
        self.weightMap = weightMap
        self.metadata = metadata
        self.shards = shards
    }

    /// True for a relative path inside the folder, judged by both POSIX and Windows rules: no
    /// empty, `.` or `..` component, no leading `/`, no backslash, no drive letter or colon.
    public static func isSafeShardName(_ name: String) -> Bool {
        guard !name.isEmpty, !name.contains("\0"), !name.contains("\\"), !name.contains(":"),
            !name.hasPrefix("/")
        else { return false }
        let components = name.split(separator: "/", omittingEmptySubsequences: false)
        return components.allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }
    }
}
