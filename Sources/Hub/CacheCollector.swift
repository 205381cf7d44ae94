import CacheLayout
import Foundation
import Platform
import StrictJSON

/// `hasskit gc`: what the cache and the store hold that nothing uses any more.
///
/// - blobs no snapshot links to (untouched for an hour, so a download by another tool that has
///   written its blob but not yet its link is left alone);
/// - hasskit's partial downloads and their journals untouched for a day, whose lock is free;
/// - lock files untouched for a day whose lock is free;
/// - converted files in the store whose pair's snapshots are gone from the cache.
///
/// Only files under the hub cache and hasskit's store are considered; files of other tools
/// (huggingface_hub's own `.incomplete` files, for one) are never touched.
public struct CacheCollector: Sendable {
    public struct Item: Sendable, Equatable {
        public enum Kind: String, Sendable {
            case unreferencedBlob = "unreferenced blob", stalePartial = "stale partial download", staleLock =
                "stale lock", orphanedConversion = "converted file without its source"
        }
        public var kind: Kind
        public var path: String
        public var bytes: UInt64
    }

    public let cache: HFCache
    public let store: PairStore
    /// Seconds since its last change before an unreferenced blob is garbage.
    public var blobAge: Double = 3600
    /// Seconds since its last change before a partial download is garbage.
    public var partialAge: Double = 86400

    public init(cache: HFCache, store: PairStore) {
        self.cache = cache
        self.store = store
    }

    /// Finds the garbage; with `remove`, deletes it. Returns what was (or would be) removed.
    public func collect(remove: Bool, now: Date = Date()) throws -> [Item] {
        var items: [Item] = []
        let nowNS = Int64(now.timeIntervalSince1970 * 1e9)
        func age(_ path: String) -> Double {
            Double(nowNS - ((try? FileSystem.modificationTime(of: path)) ?? nowNS)) / 1e9
        }
        func size(_ path: String) -> UInt64 { (try? FileSystem.size(of: path)) ?? 0 }
        let root = cache.root
        for folder in ((try? FileSystem.contents(of: root)) ?? []) where folder.hasPrefix("models--") {
            let repoDir = root + "/" + folder
            let referenced = HFCache.referencedBlobs(snapshots: repoDir + "/snapshots")
            let blobs = repoDir + "/blobs"
            let locks = root + "/.locks/" + folder
            for name in (try? FileSystem.contents(of: blobs)) ?? [] {
                let path = blobs + "/" + name
                if name.hasSuffix(".hasskit.incomplete") || name.hasSuffix(".hasskit.journal") {
                    let etag = String(name.prefix { $0 != "." })
                    guard age(path) >= partialAge,
                        FileLock.attempt(path: locks + "/" + etag + ".lock", create: false) != .held
                    else {
                        continue
                    }
                    items.append(Item(kind: .stalePartial, path: path, bytes: size(path)))
                } else if (try? BlobID(name)) != nil, !referenced.contains(name), age(path) >= blobAge {
                    items.append(Item(kind: .unreferencedBlob, path: path, bytes: size(path)))
                }
            }
            for name in (try? FileSystem.contents(of: locks)) ?? [] where name.hasSuffix(".lock") {
                let path = locks + "/" + name
                // Old and free only: a lock file is unlinked only when no download can be racing for it.
                if age(path) >= partialAge, FileLock.attempt(path: path, create: false) == .free {
                    items.append(Item(kind: .staleLock, path: path, bytes: 0))
                }
            }
        }
        // Converted files whose pulled snapshots are gone.
        for key in (try? FileSystem.contents(of: store.root + "/pairs")) ?? [] {
            let folder = store.root + "/pairs/" + key
            let lockPath = folder + "/lock.json"
            guard FileSystem.kind(of: lockPath) == .file,
                let lock = try? PairLock(json: JSONParser().parse(FileSystem.readFile(lockPath)), path: lockPath)
            else { continue }
            let gone = lock.members.contains {
                FileSystem.kind(of: cache.layout.snapshot($0.repo, $0.commit).path) != .directory
            }
            guard gone else { continue }
            for name in (try? FileSystem.contents(of: folder)) ?? [] where name.hasSuffix(".hkw") {
                items.append(
                    Item(kind: .orphanedConversion, path: folder + "/" + name, bytes: size(folder + "/" + name)))
            }
        }
        if remove {
            for item in items { try FileSystem.removeFile(item.path) }
        }
        return items
    }
}
