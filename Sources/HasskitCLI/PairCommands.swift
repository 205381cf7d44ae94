import ArgumentParser
import CacheLayout
import Foundation
import Hub
import Pairs
import Platform
import WeightFormat
import Registry
import StrictJSON

/// Loads the registry, turning manifest errors into one clear line.
func loadRegistry() throws -> Registry {
    return try Registry()
}

/// The pair `name` names (an id or alias) with the hub configured from the environment, or a
/// usage error naming it (`hint` says what else the command takes).
func pairWorkspace(named name: String, hint: String = "") throws -> PairWorkspace {
    guard let manifest = try loadRegistry().manifest(named: name) else {
        throw ValidationError("no pair named \(name) (see hasskit list)\(hint)")
    }
    return PairWorkspace(manifest: manifest, client: HubClient(environment: HubEnvironment.fromProcess()))
}

/// Shared options of commands that talk to the hub.
struct HubOptions: ParsableArguments {
    @Flag(name: .shortAndLong, help: "No progress output.")
    var quiet = false

    @Option(help: "Byte ranges of one large file fetched at once.")
    var parallelRanges = 4

    @Option(help: "Files fetched at once.")
    var parallelFiles = 4

    @Flag(
        help:
            "Do not fsync each finished file before it is renamed into place (faster on fast disks; a power loss right after may leave a short file, which verify reports)."
    )
    var noFsync = false

    func client() -> HubClient {
        var config = HubConfiguration()
        config.parallelRanges = max(1, parallelRanges)
        config.parallelFiles = max(1, parallelFiles)
        config.syncBlobs = !noFsync
        if let base = ProcessInfo.processInfo.environment["HASSKIT_RETRY_BASE_SECONDS"].flatMap(Double.init) {
            config.retryBaseDelay = base
        }
        if let stall = ProcessInfo.processInfo.environment["HASSKIT_STALL_SECONDS"].flatMap(Int.init) {
            config.stallSeconds = stall
        }
        return HubClient(environment: HubEnvironment.fromProcess(), configuration: config)
    }
}

/// `hasskit list`.
struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the known base + HASS draft pairs and whether they are pulled.")

    @OptionGroup var diagnostics: Diagnostics

    @Flag(help: "Print one JSON document on stdout.")
    var json = false

    func run() throws {
        let registry = try loadRegistry()
        let ops = PairOperations(client: HubClient(environment: HubEnvironment.fromProcess()))
        var rows: [JSONValue] = []
        var lines = [
            "PAIR                          BASE                                       DRAFT KIND    GATED  ON DISK"
        ]
        for m in registry.manifests {
            // nil when the pair is not pulled (or its lock cannot be read).
            let usage: (downloaded: UInt64, converted: UInt64)? = (try? ops.diskUsage(m.id)) ?? nil
            let pulled = usage != nil
            let sizes: [(String, JSONValue)] =
                usage.map {
                    [("bytes_downloaded", .int($0.downloaded)), ("bytes_converted", .int($0.converted))]
                } ?? []
            rows.append(
                .object(
                    [
                        ("id", .string(m.id)), ("aliases", .array(m.aliases.map { .string($0) })),
                        ("title", .string(m.title)),
                        ("base", .string(m.base.repo)), ("draft", .string(m.draft.repo)),
                        ("draft_kind", .string(m.draftKind.rawValue)),
                        ("gated", .bool(m.base.gated || m.draft.gated)), ("pulled", .bool(pulled)),
                    ] + sizes))
            let onDisk =
                usage.map {
                    "\(formatBytes($0.downloaded)) pulled"
                        + ($0.converted > 0 ? " + \(formatBytes($0.converted)) converted" : "")
                } ?? "not pulled"
            lines.append(
                "\(m.id.padding(30))\(m.base.repo.padding(43))\(m.draftKind.rawValue.padding(14))\((m.base.gated ? "yes" : "no").padding(7))\(onDisk)"
            )
        }
        Console.out(json ? JSONValue.array(rows).serialized() : lines.joined(separator: "\n"))
    }
}

/// `hasskit show PAIR`.
struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a pair: its manifest, licence, tree settings and what is on disk.")

    @OptionGroup var diagnostics: Diagnostics

    @Argument(help: "A pair id or alias (see `hasskit list`).")
    var pair: String

    @Flag(help: "Print one JSON document on stdout.")
    var json = false

    func run() throws {
        let registry = try loadRegistry()
        guard let m = registry.manifest(named: pair) else {
            let hint = registry.suggestions(for: pair)
            throw HubError(
                .notFound(
                    "no pair named \(pair)\(hint.isEmpty ? "" : "; did you mean \(hint.joined(separator: ", "))?")"),
                location: "registry")
        }
        let ops = PairOperations(client: HubClient(environment: HubEnvironment.fromProcess()))
        let lock = try? ops.store.lock(m.id)
        var local: [JSONValue] = []
        for member in lock?.members ?? [] {
            let present = member.files.filter {
                FileSystem.kind(of: ops.cache.layout.snapshotFile(member.repo, member.commit, $0.file).path) == .file
            }
            local.append(
                .object([
                    ("role", .string(member.role.rawValue)), ("repo", .string(member.repo.description)),
                    ("commit", .string(member.commit.hex)),
                    ("files", .int(member.files.count)), ("present", .int(present.count)),
                    ("bytes", .int(member.files.reduce(UInt64(0)) { $0 + $1.size })),
                    ("snapshot", .string(ops.cache.layout.snapshot(member.repo, member.commit).path)),
                ]))
        }
        if json {
            Console.out(JSONValue.object([("manifest", m.json), ("local", .array(local))]).serialized())
            return
        }
        var lines = ["\(m.id) — \(m.title)"]
        if !m.aliases.isEmpty { lines.append("  aliases      \(m.aliases.joined(separator: ", "))") }
        lines.append("  family       \(m.family.rawValue), chat template \(m.chatTemplate)")
        for (role, member) in [("base", m.base), ("draft", m.draft)] {
            lines.append(
                "  \(role.padding(12)) \(member.repo)@\(member.revision)  licence \(member.licence)\(member.gated ? ", gated: accept the licence on the hub and set HF_TOKEN" : "")"
            )
        }
        lines.append("  draft kind   \(m.draftKind.rawValue)")
        lines.append(
            "  tree (GPU)   top-k \(m.gpuTree.topK), depth \(m.gpuTree.depth), \(m.gpuTree.totalTokens) tokens")
        lines.append(
            "  tree (CPU)   top-k \(m.cpuTree.topK), depth \(m.cpuTree.depth), \(m.cpuTree.totalTokens) tokens")
        lines.append("  published    \(m.published.serialized())")
        if local.isEmpty {
            lines.append("  on disk      not pulled (hasskit pull \(m.id))")
        } else {
            for l in local {
                lines.append(
                    "  on disk      \(l["role"]?.stringValue ?? ""): \(l["present"]?.intValue ?? 0)/\(l["files"]?.intValue ?? 0) files, \(formatBytes(l["bytes"]?.uint64Value ?? 0)) at \(String(l["commit"]?.stringValue?.prefix(12) ?? ""))"
                )
            }
        }
        Console.out(lines.joined(separator: "\n"))
    }
}

/// `hasskit pull PAIR`.
struct Pull: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Download a pair (or any org/name repository) into the Hugging Face cache, verified.",
        discussion: """
            Files are checked against the hub's SHA-256 before they appear; an interrupted pull resumes \
            where it stopped, across runs. The resolved commits and file hashes are written to a lock \
            file; later pulls and `verify` hold the files to it. Honours HF_TOKEN (or the token file of \
            `hf auth login`), HF_ENDPOINT, HF_HOME/HF_HUB_CACHE and the usual proxy variables.
            """
    )

    @OptionGroup var diagnostics: Diagnostics

    @Argument(help: "A pair id or alias, or a repository id `org/name`.")
    var target: String

    @Option(help: "Revision (branch, tag or commit) instead of the manifest's; re-pins the lock.")
    var revision: String?

    @Option(parsing: .upToNextOption, help: "Also fetch files matching these globs.")
    var include: [String] = []

    @Option(parsing: .upToNextOption, help: "Skip files matching these globs.")
    var exclude: [String] = []

    @Option(help: "Also place the files in this folder (hard links to the cache).")
    var localDir: String?

    @OptionGroup var hub: HubOptions

    @Flag(help: "Print one JSON document on stdout.")
    var json = false

    @Flag(
        help:
            "Show what would be fetched (commits, gating and access, sizes, what is cached, the disk space) and write nothing."
    )
    var dryRun = false

    func validate() throws {
        // A revision becomes a file name under the cache's refs/: refused before anything runs.
        if let revision {
            do { _ = try Revision(revision) } catch { throw ValidationError("--revision: \(error.description)") }
        }
    }

    func run() throws {
        let registry = try loadRegistry()
        let pullTarget: PullTarget
        if let m = registry.manifest(named: target) {
            let env = HubEnvironment.fromProcess()
            if m.localOnly && env.endpoint == HubEnvironment.defaultEndpoint {
                throw HubError(
                    .notFound(
                        "\(m.id) is hasskit's bundled demo pair and is not on the hub; `hasskit demo` serves it on loopback and runs it end to end"
                    ), location: "registry")
            }
            pullTarget = .pair(m)
        } else if Manifest.isValidRepo(target) {
            pullTarget = .repo(target)
        } else {
            let hint = registry.suggestions(for: target)
            throw HubError(
                .notFound(
                    "no pair named \(target)\(hint.isEmpty ? "" : "; did you mean \(hint.joined(separator: ", "))?") (a repository is written org/name)"
                ), location: "registry")
        }
        var options = PullOptions()
        options.revision = revision
        options.include = include
        options.exclude = exclude
        options.localDir = localDir
        if dryRun {
            try renderPlan(try PairOperations(client: hub.client()).dryRun(pullTarget, options: options))
            return
        }
        let style: DownloadProgress.Style = hub.quiet || json ? .quiet : (isatty(2) != 0 ? .terminal : .lines)
        let progress = DownloadProgress(style: style) { text in FileHandle.standardError.write(Data(text.utf8)) }
        let summary: PullSummary
        summary = try PairOperations(client: hub.client()).pull(pullTarget, options: options, progress: progress)
        if json {
            Console.out(
                JSONValue.object([
                    ("pair", .string(summary.id)),
                    (
                        "files",
                        .array(
                            summary.files.map { f in
                                .object([
                                    ("repo", .string(f.repo)), ("path", .string(f.path)), ("bytes", .int(f.bytes)),
                                    ("sha256", f.sha256.map { .string($0) } ?? .null),
                                    ("status", .string(f.status.rawValue)),
                                ])
                            })
                    ),
                    ("bytes_downloaded", .int(summary.bytesDownloaded)),
                    ("seconds", .double((summary.seconds * 1000).rounded() / 1000)),
                ]).serialized())
        } else if !hub.quiet {
            let counts = Dictionary(grouping: summary.files, by: \.status).mapValues(\.count)
            Console.out(
                "\(summary.id): \(summary.files.count) files (\(counts[.downloaded] ?? 0) downloaded, \(counts[.resumed] ?? 0) resumed, \(counts[.cached] ?? 0) already present), \(formatBytes(summary.bytesDownloaded)) fetched in \(String(format: "%.1f", summary.seconds)) s"
            )
            for m in summary.lock.members {
                Console.out("  \(m.role.rawValue.padding(6)) \(m.repo)@\(m.commit.hex.prefix(12))")
            }
        }
    }
}

extension Pull {
    /// `pull --dry-run`: the plan, as a table or one JSON document.
    func renderPlan(_ plan: PullPlan) throws {
        if json {
            Console.out(plan.json.serialized())
            return
        }
        for m in plan.members {
            let access: String
            switch m.access {
            case .granted: access = "access granted"
            case let .denied(why): access = "ACCESS DENIED: \(why)"
            case .notChecked: access = "access not checked"
            }
            Console.out(
                "\(m.role.rawValue.padding(6)) \(m.repo)@\(m.revision) → \(m.commit.hex.prefix(12))  \(m.gated.map { "gated (\($0))" } ?? "not gated"), \(access)"
            )
            for f in m.files {
                Console.out("         \(f.cached ? "cached " : "fetch  ") \(formatBytes(f.size).padding(12)) \(f.path)")
            }
        }
        let available = plan.available.map(formatBytes) ?? "unknown"
        Console.out(
            "\(formatBytes(plan.bytesToFetch)) to fetch of \(formatBytes(plan.bytesTotal)) (shared files counted once); needs \(formatBytes(plan.bytesToFetch == 0 ? 0 : plan.bytesToFetch + plan.margin)) with the \(formatBytes(plan.margin)) margin, \(available) available in \(plan.cacheFolder)\(plan.fits ? "" : ": DOES NOT FIT")"
        )
    }
}

/// `hasskit verify PAIR|org/name|FILE.hkw [--repair]`.
struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-hash a pulled pair's files against its lock file, or every entry of a converted .hkw file.",
        discussion: """
            Exits 75 when anything is damaged or missing. With --repair, the damaged files of a pull are \
            fetched again from the locked commit (a converted .hkw file is repaired by converting again).
            """
    )

    @OptionGroup var diagnostics: Diagnostics

    @Argument(help: "A pair id or alias, a repository org/name, or a .hkw file.")
    var target: String

    @Flag(help: "Fetch the damaged or missing files again.")
    var repair = false

    @OptionGroup var hub: HubOptions

    @Flag(help: "Print one JSON document on stdout.")
    var json = false

    func run() throws {
        if FileSystem.kind(of: target) == .file {
            try verifyHKW()
            return
        }
        let id = (try loadRegistry()).manifest(named: target)?.id ?? target
        let ops = PairOperations(client: hub.client())
        var results = try ops.verify(id)
        if repair && results.contains(where: { !$0.ok }) {
            let style: DownloadProgress.Style = hub.quiet || json ? .quiet : (isatty(2) != 0 ? .terminal : .lines)
            results = try ops.repair(
                results,
                progress: DownloadProgress(style: style) { text in FileHandle.standardError.write(Data(text.utf8)) })
        }
        let bad = results.filter { !$0.ok }
        if json {
            Console.out(
                JSONValue.object([
                    ("pair", .string(id)), ("ok", .bool(bad.isEmpty)),
                    (
                        "files",
                        .array(
                            results.map {
                                .object([
                                    ("repo", .string($0.repo)), ("path", .string($0.path)), ("ok", .bool($0.ok)),
                                    ("detail", .string($0.detail)),
                                ])
                            })
                    ),
                ]).serialized())
        } else {
            for r in results {
                Console.out(
                    "\(r.ok ? (r.detail == "repaired" ? "fixed" : "ok  ") : "BAD ") \(r.repo)/\(r.path)\(r.ok ? "" : ": " + r.detail)"
                )
            }
        }
        if !bad.isEmpty { throw ExitCode(HasskitExit.integrity) }
    }

    /// Every tensor and file of a `.hkw` against the SHA-256 in its header; the content hash is
    /// computed from those same hashes, so an intact file also has the content hash it claims.
    func verifyHKW() throws {
        let file = try HKWFile(path: target)
        let damaged = file.damagedEntries()
        let entries = file.tensors.count + file.files.count
        if json {
            Console.out(
                JSONValue.object([
                    ("file", .string(target)), ("ok", .bool(damaged.isEmpty)), ("entries", .int(entries)),
                    ("content_hash", .string(file.contentHash)),
                    (
                        "damaged",
                        .array(
                            damaged.map {
                                .object([
                                    ("name", .string($0.entry.name)), ("expected", .string($0.entry.sha256)),
                                    ("found", .string($0.found)),
                                ])
                            })
                    ),
                ]).serialized())
        } else if damaged.isEmpty {
            Console.out("ok   \(target): \(entries) entries match their SHA-256; content hash \(file.contentHash)")
        } else {
            for d in damaged {
                Console.out(
                    "BAD  \(target): entry \"\(d.entry.name)\": sha256 \(d.found), header records \(d.entry.sha256)")
            }
        }
        if !damaged.isEmpty {
            if repair {
                Console.log("hasskit: a converted file is repaired by converting it again (hasskit convert … --force)")
            }
            throw ExitCode(HasskitExit.integrity)
        }
    }
}

/// `hasskit gc`.
struct GarbageCollect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract:
            "Remove what nothing uses: unreferenced blobs, stale partial downloads and locks, conversions whose source is gone.",
        discussion: """
            Blobs no snapshot links to (untouched for an hour), hasskit's partial downloads and lock files \
            untouched for a day whose lock is free, and converted files of pairs whose snapshots are gone. \
            Other tools' files in the cache are left alone. --dry-run lists them without removing anything.
            """
    )

    @OptionGroup var diagnostics: Diagnostics

    @Flag(help: "List what would be removed; remove nothing.")
    var dryRun = false

    @Flag(help: "Print one JSON document on stdout.")
    var json = false

    func run() throws {
        let ops = PairOperations(client: HubClient(environment: HubEnvironment.fromProcess()))
        let items = try CacheCollector(cache: ops.cache, store: ops.store).collect(remove: !dryRun)
        let freed = items.reduce(UInt64(0)) { $0 + $1.bytes }
        if json {
            Console.out(
                JSONValue.object([
                    ("dry_run", .bool(dryRun)),
                    (
                        "removed",
                        .array(
                            items.map {
                                .object([
                                    ("kind", .string($0.kind.rawValue)), ("path", .string($0.path)),
                                    ("bytes", .int($0.bytes)),
                                ])
                            })
                    ),
                    ("bytes_freed", .int(dryRun ? 0 : freed)),
                ]).serialized())
            return
        }
        for item in items {
            Console.out(
                "\(dryRun ? "would remove" : "removed") \(item.kind.rawValue): \(item.path) (\(formatBytes(item.bytes)))"
            )
        }
        Console.out(
            items.isEmpty
                ? "nothing to remove"
                : "\(dryRun ? "would free" : "freed") \(formatBytes(freed)) in \(items.count) files")
    }
}

/// `hasskit rm PAIR`.
struct Remove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm", abstract: "Remove a pulled pair's snapshots and the blobs nothing else uses.")

    @OptionGroup var diagnostics: Diagnostics

    @Argument(help: "A pair id or alias, or org/name.")
    var target: String

    @Flag(help: "Print one JSON document on stdout.")
    var json = false

    func run() throws {
        let id = (try loadRegistry()).manifest(named: target)?.id ?? target
        let freed: UInt64
        freed = try PairOperations(client: HubClient(environment: HubEnvironment.fromProcess())).remove(id)
        Console.out(
            json
                ? JSONValue.object([("pair", .string(id)), ("bytes_freed", .int(freed))]).serialized()
                : "\(id): removed, \(formatBytes(freed)) freed")
    }
}
