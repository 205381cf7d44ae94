import CacheLayout
import Foundation
@testable import Hub
import Platform
import Registry
import Testing
import LoopbackHub
import TestSupport

/// Pulls from an imitation hub on loopback, with faults. Each test checks the files are
/// byte-identical, that resumed transfers fetched no byte twice (server-side counters), that no
/// Authorization header reached the CDN port, and that nothing half-written is visible.
@Suite(.serialized) struct DownloadTests {
    static func bytes(_ n: Int, seed: UInt64) -> [UInt8] {
        var s = seed
        return (0..<n).map { _ in
            s = s &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: s >> 33)
        }
    }

    struct Setup {
        var hub: LoopbackHub
        var ops: PairOperations
        var cache: String
        var repo: LoopbackHub.Repo
    }

    enum Token { case none, full, withoutAccess, invalid }

    static func setup(
        files: [(String, [UInt8])]? = nil, gated: Bool = false, token: Token = .full,
        configure: (inout HubConfiguration) -> Void = { _ in }
    ) throws -> Setup {
        let hub = try LoopbackHub()
        let repo = hub.addRepo(
            "org/model",
            files: files ?? [
                ("config.json", Array("{\"hidden_size\": 8}".utf8)),
                ("model.safetensors", bytes(3 << 20, seed: 1)),
                ("sub/dir/extra.bin", bytes(5000, seed: 2)),
            ], gated: gated)
        let home = Fixtures.temporaryDirectory("hasskit-hub")
        let tokenValue: String?
        switch token {
        case .none: tokenValue = nil
        case .full: tokenValue = hub.token
        case .withoutAccess: tokenValue = hub.tokenWithoutAccess
        case .invalid: tokenValue = "hf_revoked_long_ago"
        }
        let env = HubEnvironment(
            endpoint: hub.endpoint, token: tokenValue, cacheDirectory: home + "/hub",
            offline: false, hasskitHome: home + "/hasskit")
        var config = HubConfiguration()
        config.retryBaseDelay = 0.01
        config.maxRetryDelay = 0.05
        config.stallSeconds = 1
        config.minimumSplitSize = 1 << 20
        config.minimumRangeSize = 256 << 10
        config.parallelRanges = 4
        configure(&config)
        return Setup(
            hub: hub, ops: PairOperations(client: HubClient(environment: env, configuration: config)),
            cache: home + "/hub", repo: repo)
    }

    static func quiet() -> DownloadProgress { DownloadProgress(style: .quiet) { _ in } }

    /// Where `file` of org/model appears in the snapshot of the loopback repository's commit.
    static func snapshotFile(_ s: Setup, _ file: String, repo: String = "org/model") throws -> String {
        s.ops.cache.layout.snapshotFile(try RepoID(repo), try CommitID(s.repo.commit), try RepoFilePath(file)).path
    }

    func expectComplete(_ s: Setup, _ sourceLine: Int = #line) throws {
        for f in s.repo.files {
            let path = try Self.snapshotFile(s, f.path)
            #expect(try FileSystem.readFile(path) == f.content.bytes, "\(f.path)")
        }
        #expect(s.hub.cdnAuthorizations == 0, "a token reached the CDN")
        let blobs = try FileSystem.contents(of: s.cache + "/models--org--model/blobs")
        #expect(blobs.allSatisfy { !$0.contains("incomplete") && !$0.contains("journal") }, "\(blobs)")
    }

    @Test func pullsIntoTheHubCacheLayout() throws {
        let s = try Self.setup()
        let summary = try s.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
        try expectComplete(s)
        #expect(summary.files.count == 3)
        #expect(summary.files.allSatisfy { $0.status == .downloaded })
        // refs/main → commit, snapshot links point into blobs/<sha256 or git oid>
        #expect(s.ops.cache.commit(for: try Revision("main"), repo: try RepoID("org/model"))?.hex == s.repo.commit)
        let link = FileSystem.symlinkTarget(try Self.snapshotFile(s, "sub/dir/extra.bin"))
        #expect(link == "../../../../blobs/" + s.repo.files[2].sha256)
        #expect(FileSystem.kind(of: s.cache + "/CACHEDIR.TAG") == .file)
        // A second pull fetches nothing.
        s.hub.resetCounters()
        let again = try s.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
        #expect(again.files.allSatisfy { $0.status == .cached })
        #expect(s.hub.bytesServed("model.safetensors") == 0)
        // The lock pins the commit and hashes; verify re-hashes.
        let lock = try #require(try s.ops.store.lock("org/model"))
        #expect(lock.members.first?.commit.hex == s.repo.commit)
        #expect(try s.ops.verify("org/model").allSatisfy { $0.ok })
    }

    /// Without fsync (`pull --no-fsync`) the files are the same, still checked before they appear,
    /// and a wrong file is still refused.
    @Test func pullWithoutFsyncGivesTheSameFiles() throws {
        let s = try Self.setup { $0.syncBlobs = false }
        _ = try s.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
        try expectComplete(s)
        let bad = try Self.setup { $0.syncBlobs = false }
        bad.hub.setFault(.wrongBytes, for: "model.safetensors")
        #expect(throws: HubError.self) {
            _ = try bad.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
        }
        #expect(bad.hub.faultsFired("model.safetensors") > 0)
    }

    @Test func largeFilesComeInParallelRanges() throws {
        let s = try Self.setup()
        let secondPasses = Downloader.secondPassHashes.count
        _ = try s.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
        try expectComplete(s)
        // Hashed as the contiguous prefix completed, not in a second pass after the last byte.
        #expect(Downloader.secondPassHashes.count == secondPasses)
        let ranged = s.hub.cdn.requests.filter { $0.path.contains("model.safetensors") && $0.header("range") != nil }
        #expect(ranged.count >= 3)
        #expect(s.hub.bytesServed("model.safetensors") == 3 << 20)
    }

    @Test func droppedConnectionsResumeWithoutRefetching() throws {
        let s = try Self.setup { $0.parallelRanges = 1 }
        s.hub.setFault(.drop(after: 700_000, times: 3), for: "model.safetensors")
        _ = try s.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
        try expectComplete(s)
        #expect(s.hub.faultsFired("model.safetensors") == 3, "the connection was not dropped three times")
        #expect(s.hub.bytesServed("model.safetensors") == 3 << 20, "some bytes were fetched twice")
    }

    @Test func resumesAcrossRunsFromTheJournal() throws {
        let s = try Self.setup { c in
            c.parallelRanges = 1
            c.maxAttempts = 2
        }
        s.hub.setFault(.dropThenFail(after: 1_000_000), for: "model.safetensors")
        #expect(throws: HubError.self) {
            _ = try s.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
        }
        let blobs = try FileSystem.contents(of: s.cache + "/models--org--model/blobs")
        #expect(blobs.contains { $0.hasSuffix(".hasskit.incomplete") })
        #expect(!blobs.contains(s.repo.files[1].sha256), "a partial file is visible under its final name")
        let servedBefore = s.hub.bytesServed("model.safetensors")
        let secondPasses = Downloader.secondPassHashes.count
        s.hub.setFault(nil, for: "model.safetensors")
        let summary = try s.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
        try expectComplete(s)
        #expect(summary.files.first { $0.path == "model.safetensors" }?.status == .resumed)
        #expect(servedBefore == 1_000_000)
        #expect(Downloader.secondPassHashes.count == secondPasses, "a resumed ranged file was hashed in a second pass")
        #expect(s.hub.faultsFired("model.safetensors") >= 2, "the first run was not cut short and then refused")
        #expect(s.hub.bytesServed("model.safetensors") == 3 << 20, "the second run fetched bytes the first already had")
    }

    @Test(arguments: [500, 503, 429])
    func transientErrorsAreRetried(_ status: Int) throws {
        let s = try Self.setup()
        s.hub.setFault(.status(status, times: 2), for: "model.safetensors")
        s.hub.setFault(.status(status, times: 1), for: "config.json")
        _ = try s.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
        try expectComplete(s)
        #expect(s.hub.faultsFired("model.safetensors") == 2)
        #expect(s.hub.faultsFired("config.json") == 1)
    }

    @Test func stalledTransfersAreRestarted() throws {
        let s = try Self.setup { $0.parallelRanges = 1 }
        s.hub.setFault(.stall(after: 500_000), for: "model.safetensors")
        _ = try s.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
        try expectComplete(s)
        #expect(s.hub.faultsFired("model.safetensors") == 1, "the transfer never stalled")
    }

    @Test func wrongBytesAreFetchedAgainOnceThenRefused() throws {
        let s = try Self.setup()
        s.hub.setFault(.wrongBytesOnce, for: "model.safetensors")
        _ = try s.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
        try expectComplete(s)
        #expect(s.hub.faultsFired("model.safetensors") == 1, "no wrong bytes were served")

        let t = try Self.setup()
        t.hub.setFault(.wrongBytes, for: "model.safetensors")
        do {
            _ = try t.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
            Issue.record("corrupt bytes were accepted")
        } catch let e as HubError {
            guard case .integrity = e.code else { Issue.record("\(e)"); return }
        }
        let blobs = try FileSystem.contents(of: t.cache + "/models--org--model/blobs")
        #expect(!blobs.contains { $0.hasPrefix(t.repo.files[1].sha256) }, "corrupt bytes were left behind: \(blobs)")
        #expect(t.hub.faultsFired("model.safetensors") >= 2)
    }

    @Test func serversThatIgnoreRangesStillWork() throws {
        let s = try Self.setup()
        s.hub.setFault(.ignoreRanges, for: "model.safetensors")
        _ = try s.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
        try expectComplete(s)
        #expect(s.hub.faultsFired("model.safetensors") >= 1, "no range request was ignored")
    }

    /// When a server ignores ranges, the download truncates its partial file and starts over, while
    /// the prefix hasher may be reading the file's mapping: a read past the new end is a SIGBUS
    /// (a CI run died in SHA-256 this way). `cancel()` must return only once the thread has stopped.
    @Test func cancellingThePrefixHasherStopsItsThreadBeforeReturning() throws {
        let path = Fixtures.temporaryDirectory("hasskit-prefix") + "/blob.incomplete"
        let size: UInt64 = 1 << 30  // sparse: hashing it takes far longer than the pause below
        let file = try RandomAccessFile(path: path)
        try file.truncate(size)
        let hasher = PrefixHasher(path: path, size: size, git: false, already: [])
        hasher.add(0..<size)
        Thread.sleep(forTimeInterval: 0.05)  // the thread is now inside the mapping
        hasher.cancel()
        try file.truncate(0)  // what the restart does next; crashes the process if it still reads
        #expect(hasher.finish() == nil, "the hash of a cancelled transfer was finished anyway")
    }

    /// A gated repository's listing is public, its files are not: the refusal comes before any
    /// space is reserved, so nothing of the repository is left on the disk (once, a 16 GB gated
    /// base left 16 GB of `*.incomplete` files behind).
    @Test func gatedReposNeedATokenAndSayHow() throws {
        let s = try Self.setup(gated: true, token: .none)
        do {
            _ = try s.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
            Issue.record("pulled a gated repo without a token")
        } catch let e as HubError {
            #expect(e.code == .gated(repo: "org/model", tokenSent: false))
            #expect(e.description.contains("HF_TOKEN"))
        }
        #expect(
            FileSystem.kind(of: s.cache + "/models--org--model/blobs") == .missing,
            "the refused download reserved space")

        let limited = try Self.setup(gated: true, token: .withoutAccess)
        do {
            _ = try limited.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
            Issue.record("pulled a gated repo with a token that has no access")
        } catch let e as HubError {
            #expect(e.code == .gated(repo: "org/model", tokenSent: true))
            #expect(e.description.contains("not been granted access"))
        }
        #expect(FileSystem.kind(of: limited.cache + "/models--org--model/blobs") == .missing)

        let t = try Self.setup(gated: true, token: .full)
        _ = try t.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
        try expectComplete(t)
    }

    @Test func aTokenTheHubRejectsIsNamedAsInvalid() throws {
        let s = try Self.setup(token: .invalid)
        do {
            _ = try s.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
            Issue.record("pulled with a token the hub rejects")
        } catch let e as HubError {
            #expect(e.code == .invalidToken)
            #expect(e.description.contains("HF_TOKEN is set but the hub rejected it"))
        }
    }

    /// A revision is a path component under refs/: `../../x` once wrote outside the cache, from
    /// the command line, from a user manifest, and from a lock file without any request.
    @Test(arguments: [
        "../../../../escaped", "/etc/escaped", "-rf", "a/../../b", "main.lock", "x@{1}", "a\\b", "tab\tname", ".hidden",
        "a//b",
    ])
    func revisionsThatCouldEscapeAreRefused(_ revision: String) throws {
        let s = try Self.setup()
        var options = PullOptions()
        options.revision = revision
        #expect(throws: LayoutError.self) {
            _ = try s.ops.pull(.repo("org/model"), options: options, progress: Self.quiet())
        }
        #expect(FileSystem.kind(of: s.cache) == .missing, "something was written for revision \(revision)")
        #expect(s.hub.hub.requests.count == 0, "the hub was asked about revision \(revision)")
    }

    @Test func aLockFileCannotSmuggleARevisionIntoTheCache() throws {
        let s = try Self.setup()
        _ = try s.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
        let lockPath = s.ops.store.lockPath("org/model")
        let text = String(decoding: try FileSystem.readFile(lockPath), as: UTF8.self)
        try Data(
            text.replacingOccurrences(of: "\"revision\": \"main\"", with: "\"revision\": \"../../../../escaped\"").utf8
        ).write(to: URL(fileURLWithPath: lockPath))
        do {
            _ = try s.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
            Issue.record("a lock file with an escaping revision was used")
        } catch let e as HubError {
            guard case .badLock = e.code else { Issue.record("\(e)"); return }
            #expect(e.description.contains("escaped"))
        }
        let home = FileSystem.split(s.cache).directory
        #expect(FileSystem.kind(of: FileSystem.split(home).directory + "/escaped") == .missing)
    }

    @Test func revisionRulesFollowGitCheckRefFormat() throws {
        for good in ["main", "v1.0", "refs/pr/12", "feature/x-y_z", String(repeating: "a", count: 40)] {
            #expect(Revision.isValid(good), "\(good)")
        }
        for bad in [
            "", "..", "a..b", "a/", "/a", "a.", "@", "x.lock", "a/.b", "a b", "a~1", "a^", "a:b", "a?", "a*", "a[",
            "\u{7f}", "a\u{0}b",
        ] {
            #expect(!Revision.isValid(bad), "\(bad)")
        }
        #expect(try Revision(String(repeating: "c", count: 40)).commit != nil)
        for bad in ["org", "org/a/b", "../x", "org/..", "-org/x", "org/x--y", "org/x.", "org/ x"] {
            #expect(!RepoID.isValid(bad), "\(bad)")
        }
    }

    /// A listing with a file `a` and a file `a/b` cannot be a git tree; it is refused before
    /// anything is written (once it left half a snapshot and exited 70).
    @Test(arguments: [
        [("a", "x"), ("a/b", "y")], [("dir/f", "x"), ("dir/f/g/h", "y")], [("same", "x"), ("same", "y")],
    ])
    func aListingThatIsNotATreeIsRefusedBeforeAnyWrite(_ files: [(String, String)]) throws {
        let s = try Self.setup(files: files.map { ($0.0, Array($0.1.utf8)) })
        do {
            _ = try s.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
            Issue.record("a listing that is not a tree was accepted")
        } catch let e as HubError {
            #expect(e.code == .notATree(files[0].0, files[1].0))
            #expect(e.description.contains(files[0].0) && e.description.contains(files[1].0))
        }
        #expect(FileSystem.kind(of: s.cache) == .missing)
    }

    @Test func includeExcludeAndLocalDir() throws {
        let s = try Self.setup()
        var options = PullOptions()
        options.exclude = ["sub/*"]
        options.localDir = Fixtures.temporaryDirectory("hasskit-local")
        let summary = try s.ops.pull(.repo("org/model"), options: options, progress: Self.quiet())
        #expect(Set(summary.files.map(\.path)) == ["config.json", "model.safetensors"])
        #expect(try FileSystem.readFile(options.localDir! + "/model.safetensors") == s.repo.files[1].content.bytes)
    }

    static func damage(_ path: String) throws {
        let h = try #require(FileHandle(forWritingAtPath: path))
        try h.seek(toOffset: 100)
        h.write(Data([0xFF, 0xFE]))
        try h.close()
    }

    @Test func verifyFindsDamageAndRmFreesBlobs() throws {
        let s = try Self.setup()
        _ = try s.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
        let blob = s.ops.cache.layout.blob(try RepoID("org/model"), try BlobID(s.repo.files[1].sha256)).path
        try Self.damage(blob)
        let results = try s.ops.verify("org/model")
        #expect(results.filter { !$0.ok }.map(\.path) == ["model.safetensors"])
        let freed = try s.ops.remove("org/model")
        #expect(freed >= 3 << 20)
        #expect(FileSystem.kind(of: blob) == .missing)
        #expect(try s.ops.store.lock("org/model") == nil)
    }

    /// A blob damaged in place (same size) is not "already present": the next pull sees that its
    /// time changed since the lock, hashes it, and fetches it again.
    @Test func pullFetchesAgainABlobDamagedSinceTheLock() throws {
        let s = try Self.setup()
        _ = try s.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
        let blob = s.ops.cache.layout.blob(try RepoID("org/model"), try BlobID(s.repo.files[1].sha256)).path
        try Self.damage(blob)
        s.hub.resetCounters()
        let again = try s.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
        #expect(again.files.first { $0.path == "model.safetensors" }?.status == .downloaded)
        #expect(again.files.filter { $0.path != "model.safetensors" }.allSatisfy { $0.status == .cached })
        // The whole file once, plus the one byte that asks the hub about access before space is reserved.
        #expect(s.hub.bytesServed("model.safetensors") == 3 << 20 + 1)
        try expectComplete(s)
        // Untouched blobs are not hashed again: the next pull fetches nothing.
        s.hub.resetCounters()
        let third = try s.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
        #expect(third.files.allSatisfy { $0.status == .cached })
    }

    @Test func verifyRepairFetchesWhatIsDamaged() throws {
        let s = try Self.setup()
        _ = try s.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
        try Self.damage(s.ops.cache.layout.blob(try RepoID("org/model"), try BlobID(s.repo.files[1].sha256)).path)
        try FileSystem.removeFile(try Self.snapshotFile(s, "sub/dir/extra.bin"))
        let found = try s.ops.verify("org/model")
        #expect(Set(found.filter { !$0.ok }.map(\.path)) == ["model.safetensors", "sub/dir/extra.bin"])
        s.hub.resetCounters()
        let repaired = try s.ops.repair(found, progress: Self.quiet())
        #expect(repaired.allSatisfy { $0.ok })
        #expect(s.hub.bytesServed("config.json") == 0, "an intact file was fetched again")
        try expectComplete(s)
        #expect(try s.ops.verify("org/model").allSatisfy { $0.ok })
    }

    @Test func offlineUsesTheLockAndNeverTheNetwork() throws {
        let s = try Self.setup()
        _ = try s.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
        var env = s.ops.client.environment
        env.offline = true
        env.endpoint = "http://127.0.0.1:9"  // nothing listens there
        let offline = PairOperations(client: HubClient(environment: env, configuration: s.ops.client.configuration))
        let summary = try offline.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
        #expect(summary.files.allSatisfy { $0.status == .cached })
        #expect(throws: HubError.self) {
            _ = try offline.pull(.repo("org/never"), options: PullOptions(), progress: Self.quiet())
        }
    }

    @Test func resolveHeadersMustAgreeWithTheListing() throws {
        let s = try Self.setup()
        s.hub.setFault(.wrongLinkedEtag, for: "model.safetensors")
        do {
            _ = try s.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
            Issue.record("accepted a file whose X-Linked-Etag disagrees with the listing")
        } catch let e as HubError {
            guard case .protocolViolation = e.code else { Issue.record("\(e)"); return }
        }
        #expect(s.hub.bytesServed("model.safetensors") == 0)
        #expect(s.hub.faultsFired("model.safetensors") >= 1)
    }

    @Test func unsafePathsInTheListingAreRefused() throws {
        let s = try Self.setup(files: [("../evil.txt", Array("x".utf8))])
        #expect(throws: HubError.self) {
            _ = try s.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
        }
    }

    /// `pull --dry-run`: the plan from the hub and the cache, nothing written; after the pull, the
    /// same plan says everything is cached.
    @Test func aDryRunPlansWithoutWriting() throws {
        let s = try Self.setup()
        let plan = try s.ops.dryRun(.repo("org/model"), options: PullOptions())
        #expect(FileSystem.kind(of: s.cache) == .missing, "a dry run wrote to the cache")
        #expect(try s.ops.store.lock("org/model") == nil)
        let member = try #require(plan.members.first)
        #expect(member.commit.hex == s.repo.commit && member.gated == nil && member.access == .granted)
        #expect(member.files.count == 3 && member.files.allSatisfy { !$0.cached })
        let total = UInt64(s.repo.files.reduce(0) { $0 + $1.content.bytes.count })
        #expect(plan.bytesTotal == total && plan.bytesToFetch == total)
        #expect(plan.available != nil && plan.fits)
        #expect(s.hub.bytesServed("model.safetensors") == 0, "a dry run downloaded a file")

        _ = try s.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
        let after = try s.ops.dryRun(.repo("org/model"), options: PullOptions())
        #expect(after.bytesToFetch == 0 && after.members[0].files.allSatisfy(\.cached))
    }

    @Test func aDryRunOfAGatedRepoSaysAccessIsDenied() throws {
        let s = try Self.setup(gated: true, token: .none)
        let plan = try s.ops.dryRun(.repo("org/model"), options: PullOptions())
        let member = try #require(plan.members.first)
        #expect(member.gated == "manual")
        guard case let .denied(why) = member.access else {
            Issue.record("access was not denied: \(member.access)")
            return
        }
        #expect(why.contains("gated"))
        #expect(FileSystem.kind(of: s.cache) == .missing)
    }

    /// The hub as it serves files since its move to Xet storage: redirects to a range-serving
    /// bridge with X-Xet-Hash. Pull, resume and verify work unchanged (the LFS SHA-256 from the
    /// listing is still what is checked).
    @Test func xetServedFilesPullResumeAndVerify() throws {
        let s = try Self.setup { c in
            c.parallelRanges = 1
            c.maxAttempts = 2
        }
        s.hub.setXet(true)
        s.hub.setFault(.dropThenFail(after: 1_000_000), for: "model.safetensors")
        #expect(throws: HubError.self) {
            _ = try s.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
        }
        s.hub.setFault(nil, for: "model.safetensors")
        let summary = try s.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
        try expectComplete(s)
        #expect(summary.files.first { $0.path == "model.safetensors" }?.status == .resumed)
        #expect(s.hub.cdn.requests.contains { $0.path.hasPrefix("/xet-bridge/") }, "the bridge was not used")
        #expect(!s.hub.cdn.requests.contains { $0.path.hasPrefix("/blobs/") })
        #expect(try s.ops.verify("org/model").allSatisfy { $0.ok })
    }

    /// Files over 50 GB come in ranges even with one connection (the hub refuses a larger GET),
    /// each at most 16 GiB, covering the file exactly.
    @Test func hugeFilesAreAlwaysRanged() throws {
        let s = try Self.setup { $0.parallelRanges = 1 }
        let d = Downloader(client: s.ops.client, cache: s.ops.cache, progress: Self.quiet())
        let size: UInt64 = 60_000_000_000
        let parts = d.split([0..<size], size: size)
        #expect(parts.count >= 4 && parts.allSatisfy { $0.count <= 16 << 30 })
        #expect(parts.first?.lowerBound == 0 && parts.last?.upperBound == size)
        #expect(zip(parts, parts.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
        #expect(d.split([0..<(100 << 20)], size: 100 << 20).count == 1, "a 100 MiB file on one connection was split")
    }

    /// `gc`: unreferenced blobs, stale partials and locks, and conversions whose source is gone are
    /// found (and only removed when asked); what snapshots use stays and still verifies.
    @Test func gcRemovesWhatNothingUses() throws {
        let s = try Self.setup()
        _ = try s.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
        let old = Date(timeIntervalSinceNow: -3 * 86400)
        func plant(_ path: String, _ bytes: [UInt8]) throws {
            try FileSystem.createDirectory(FileSystem.split(path).directory)
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: path)
        }
        let blobs = s.cache + "/models--org--model/blobs/"
        let orphan = blobs + String(repeating: "ab", count: 32)
        let partial = blobs + String(repeating: "cd", count: 32) + ".hasskit.incomplete"
        let young = blobs + String(repeating: "ef", count: 32)
        let foreign = blobs + String(repeating: "12", count: 32) + ".incomplete"  // huggingface_hub's, not ours
        let lock = s.cache + "/.locks/models--org--model/" + String(repeating: "cd", count: 32) + ".lock"
        try plant(orphan, [UInt8](repeating: 1, count: 1000))
        try plant(partial, [UInt8](repeating: 2, count: 500))
        try plant(foreign, [UInt8](repeating: 3, count: 10))
        try plant(lock, [])
        try Data([4]).write(to: URL(fileURLWithPath: young))  // unreferenced, but written just now
        // A pair whose snapshot is gone, with a converted file in its store folder.
        let storeFolder = s.ops.store.folder("org/gone")
        var lockJSON = String(decoding: try FileSystem.readFile(s.ops.store.lockPath("org/model")), as: UTF8.self)
        lockJSON = lockJSON.replacingOccurrences(of: s.repo.commit, with: String(repeating: "0", count: 40))
        try plant(storeFolder + "/lock.json", Array(lockJSON.utf8))
        try plant(storeFolder + "/base-q8_0.hkw", [UInt8](repeating: 5, count: 300))

        let collector = CacheCollector(cache: s.ops.cache, store: s.ops.store)
        let found = try collector.collect(remove: false)
        #expect(
            Set(found.map(\.path)) == [orphan, partial, lock, storeFolder + "/base-q8_0.hkw"], "\(found.map(\.path))")
        #expect(found.reduce(0) { $0 + $1.bytes } == 1800)
        #expect(FileSystem.kind(of: orphan) == .file, "a dry run removed something")

        let removed = try collector.collect(remove: true)
        #expect(removed.count == 4)
        for path in [orphan, partial, lock, storeFolder + "/base-q8_0.hkw"] {
            #expect(FileSystem.kind(of: path) == .missing, "\(path)")
        }
        for path in [young, foreign] { #expect(FileSystem.kind(of: path) == .file, "\(path) was removed") }
        try FileSystem.removeFile(foreign)
        try expectComplete(s)
        #expect(try s.ops.verify("org/model").allSatisfy { $0.ok })
    }

    /// "needs 25 MB, 31 MB available" read as a contradiction: the message names the margin.
    @Test func theFreeSpaceMessageNamesTheMargin() {
        let e = HubError(
            .notEnoughSpace(
                needed: 25 << 20, margin: Downloader.spaceMargin, available: 31 << 20, folder: "/cache/blobs"),
            location: "/cache/blobs")
        #expect(
            e.description.contains("25.0 MiB") && e.description.contains("margin of 64.0 MiB")
                && e.description.contains("89.0 MiB in all"),
            "\(e.description)")
        #expect(e.description.contains("31.0 MiB") && e.description.contains("available"))
    }

    @Test func missingReposAreNotFound() throws {
        let s = try Self.setup()
        do {
            _ = try s.ops.pull(.repo("org/other"), options: PullOptions(), progress: Self.quiet())
            Issue.record("pulled a missing repo")
        } catch let e as HubError {
            guard case .notFound = e.code else { Issue.record("\(e)"); return }
        }
    }
}
