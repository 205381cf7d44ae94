import Foundation
import StrictJSON

/// The known pairs: the manifests bundled with hasskit, plus any in `HASSKIT_MANIFESTS` (a folder of
/// `*.json` files in the same schema), which may add pairs or replace bundled ones by id.
public struct Registry: Sendable {
    public let manifests: [Manifest]

    /// Loads the bundled manifests and those in `extraDirectory`.
    /// - Throws: `ManifestError` for the first invalid manifest, or for two manifests that claim
    ///   the same id or alias.
    public init(extraDirectory: String? = ProcessInfo.processInfo.environment["HASSKIT_MANIFESTS"]) throws {
        var byID: [String: Manifest] = [:]
        var fileOf: [String: String] = [:]
        var order: [String] = []
        func add(_ text: [UInt8], file: String) throws {
            let json: JSONValue
            do { json = try JSONParser().parse(text) } catch {
                throw ManifestError(file: file, field: "(document)", problem: "\(error)")
            }
            let m = try Manifest(json: json, file: file)
            if byID[m.id] == nil { order.append(m.id) }
            byID[m.id] = m
            fileOf[m.id] = file
        }
        for (name, text) in BundledManifests.files { try add(Array(text.utf8), file: "manifests/\(name)") }
        if let dir = extraDirectory, !dir.isEmpty {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
            for name in names.sorted() where name.hasSuffix(".json") {
                let path = dir + "/" + name
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw ManifestError(file: path, field: "(document)", problem: "cannot be read")
                }
                try add(Array(data), file: path)
            }
        }
        manifests = order.compactMap { byID[$0] }
        var names: [String: String] = [:]
        for m in manifests {
            for n in [m.id] + m.aliases {
                if let other = names[n], other != m.id {
                    // Name the files both manifests were read from: a user manifest's name need not be its id.
                    let otherFile = fileOf[other] ?? other
                    throw ManifestError(
                        file: fileOf[m.id] ?? m.id, field: "aliases",
                        problem: "\"\(n)\" is also used by \(other) (\(otherFile))")
                }
                names[n] = m.id
            }
        }
    }

    /// The manifest named by `name` (an id or an alias, case-insensitive).
    public func manifest(named name: String) -> Manifest? {
        let n = name.lowercased()
        return manifests.first { $0.id == n || $0.aliases.contains(n) }
    }

    /// Ids and aliases closest to `name`, for "did you mean" messages.
    public func suggestions(for name: String) -> [String] {
        let n = name.lowercased()
        let all = manifests.flatMap { [$0.id] + $0.aliases }
        return all.filter {
            $0.contains(n) || n.contains($0) || $0.split(separator: "-").contains { n.contains($0) && $0.count > 3 }
        }.sorted()
    }
}
