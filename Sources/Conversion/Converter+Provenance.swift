import CacheLayout
import Checkpoints
import Platform
import StrictJSON

extension Converter {
    /// `digests` are the source files' SHA-256 in `checkpoint.files` order; nil writes
    /// placeholders of the final length (or none when hashing is off).
    static func makeProvenance(_ checkpoint: Checkpoint, options: Options, digests: [String]?) throws -> JSONValue {
        var files: [JSONValue] = []
        for (i, f) in checkpoint.files.enumerated() {
            var members: [(String, JSONValue)] = [
                ("name", .string(FileSystem.split(f).name)), ("bytes", .int(try FileSystem.size(of: f))),
            ]
            if options.hashSources {
                members.append(("sha256", .string(digests?[i] ?? String(repeating: "0", count: 64))))
            }
            files.append(.object(members))
        }
        var members: [(String, JSONValue)] = [("source", .string(checkpoint.path))]
        if let snapshot = SnapshotLocation(path: checkpoint.path) {
            members.append(("repo", .string(snapshot.repo.description)))
            members.append(("commit", .string(snapshot.commit.hex)))
        }
        return .object(
            members + [
                ("files", .array(files)),
                ("converter", .string("hasskit \(HasskitBuild.version)")),
                ("arguments", .array(options.arguments.map { .string($0) })),
                ("type", .string(options.type.rawValue)),
            ])
    }
}
