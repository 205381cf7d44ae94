import Foundation
import Hub
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

    static func setup(files: [(String, [UInt8])]? = nil, gated: Bool = false, token: Bool = true,
                      configure: (inout HubConfiguration) -> Void = { _ in }) throws -> Setup {
        let hub = try LoopbackHub()
        let repo = hub.addRepo("org/model", files: files ?? [
            ("config.json", Array("{\"hidden_size\": 8}".utf8)),
            ("model.safetensors", bytes(3 << 20, seed: 1)),
            ("sub/dir/extra.bin", bytes(5000, seed: 2)),
        ], gated: gated)
        let home = Fixtures.temporaryDirectory("hasskit-hub")
        let env = HubEnvironment(endpoint: hub.endpoint, token: token ? hub.token : nil, cacheDirectory: home + "/hub",
                                 offline: false, hasskitHome: home + "/hasskit")
        var config = HubConfiguration()
        config.retryBaseDelay = 0.01
        config.maxRetryDelay = 0.05
        config.stallSeconds = 1
        config.minimumSplitSize = 1 << 20
        config.minimumRangeSize = 256 << 10
        config.parallelRanges = 4
        configure(&config)
        return Setup(hub: hub, ops: PairOperations(client: HubClient(environment: env, configuration: config)), cache: home + "/hub", repo: repo)
    }

    static func quiet() -> DownloadProgress { DownloadProgress(style: .quiet) { _ in } }

    func expectComplete(_ s: Setup, _ sourceLine: Int = #line) throws {
        for f in s.repo.files {
            let path = s.ops.cache.snapshotFile("org/model", commit: s.repo.commit, path: f.path)
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
        #expect(s.ops.cache.commit(for: "main", repo: "org/model") == s.repo.commit)
        let link = FileSystem.symlinkTarget(s.ops.cache.snapshotFile("org/model", commit: s.repo.commit, path: "sub/dir/extra.bin"))
        #expect(link == "../../../../blobs/" + s.repo.files[2].sha256)
        #expect(FileSystem.kind(of: s.cache + "/CACHEDIR.TAG") == .file)
        // A second pull fetches nothing.
        s.hub.resetCounters()
        let again = try s.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
        #expect(again.files.allSatisfy { $0.status == .cached })
        #expect(s.hub.bytesServed("model.safetensors") == 0)
        // The lock pins the commit and hashes; verify re-hashes.
        let lock = try #require(try s.ops.store.lock("org/model"))
        #expect(lock.members.first?.commit == s.repo.commit)
        #expect(try s.ops.verify("org/model").allSatisfy(\.ok))
    }

    /// Without fsync (`pull --no-fsync`) the files are the same, still checked before they appear,
    /// and a wrong file is still refused.
    @Test func pullWithoutFsyncGivesTheSameFiles() throws {
        let s = try Self.setup { $0.syncBlobs = false }
        _ = try s.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
        try expectComplete(s)
        let bad = try Self.setup { $0.syncBlobs = false }
        bad.hub.setFault(.wrongBytes, for: "model.safetensors")
        #expect(throws: HubError.self) { _ = try bad.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet()) }
    }

    @Test func largeFilesComeInParallelRanges() throws {
        let s = try Self.setup()
        _ = try s.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
        try expectComplete(s)
        let ranged = s.hub.cdn.requests.filter { $0.path.contains("model.safetensors") && $0.header("range") != nil }
        #expect(ranged.count >= 3)
        #expect(s.hub.bytesServed("model.safetensors") == 3 << 20)
    }

    @Test func droppedConnectionsResumeWithoutRefetching() throws {
        let s = try Self.setup { $0.parallelRanges = 1 }
        s.hub.setFault(.drop(after: 700_000, times: 3), for: "model.safetensors")
        _ = try s.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
        try expectComplete(s)
        #expect(s.hub.bytesServed("model.safetensors") == 3 << 20, "some bytes were fetched twice")
    }

    @Test func resumesAcrossRunsFromTheJournal() throws {
        let s = try Self.setup { c in
            c.parallelRanges = 1
            c.maxAttempts = 2
        }
        s.hub.setFault(.dropThenFail(after: 1_000_000), for: "model.safetensors")
        #expect(throws: HubError.self) { _ = try s.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet()) }
        let blobs = try FileSystem.contents(of: s.cache + "/models--org--model/blobs")
        #expect(blobs.contains { $0.hasSuffix(".hasskit.incomplete") })
        #expect(!blobs.contains(s.repo.files[1].sha256), "a partial file is visible under its final name")
        let servedBefore = s.hub.bytesServed("model.safetensors")
        s.hub.setFault(nil, for: "model.safetensors")
        let summary = try s.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
        try expectComplete(s)
        #expect(summary.files.first { $0.path == "model.safetensors" }?.status == .resumed)
        #expect(servedBefore == 1_000_000)
        #expect(s.hub.bytesServed("model.safetensors") == 3 << 20, "the second run fetched bytes the first already had")
    }

    @Test(arguments: [500, 503, 429])
    func transientErrorsAreRetried(_ status: Int) throws {
        let s = try Self.setup()
        s.hub.setFault(.status(status, times: 2), for: "model.safetensors")
        s.hub.setFault(.status(status, times: 1), for: "config.json")
        _ = try s.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
        try expectComplete(s)
    }

    @Test func stalledTransfersAreRestarted() throws {
        let s = try Self.setup { $0.parallelRanges = 1 }
        s.hub.setFault(.stall(after: 500_000), for: "model.safetensors")
        _ = try s.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
        try expectComplete(s)
    }

    @Test func wrongBytesAreFetchedAgainOnceThenRefused() throws {
        let s = try Self.setup()
        s.hub.setFault(.wrongBytesOnce, for: "model.safetensors")
        _ = try s.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
        try expectComplete(s)

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
    }

    @Test func serversThatIgnoreRangesStillWork() throws {
        let s = try Self.setup()
        s.hub.setFault(.ignoreRanges, for: "model.safetensors")
        _ = try s.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
        try expectComplete(s)
    }

    @Test func gatedReposNeedATokenAndSayHow() throws {
        let s = try Self.setup(gated: true, token: false)
        do {
            _ = try s.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
            Issue.record("pulled a gated repo without a token")
        } catch let e as HubError {
            #expect(e.code == .gated(repo: "org/model"))
            #expect(e.description.contains("HF_TOKEN"))
        }
        let t = try Self.setup(gated: true, token: true)
        _ = try t.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
        try expectComplete(t)
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

    @Test func verifyFindsDamageAndRmFreesBlobs() throws {
        let s = try Self.setup()
        _ = try s.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet())
        let blob = s.ops.cache.blob("org/model", etag: s.repo.files[1].sha256)
        let h = try #require(FileHandle(forWritingAtPath: blob))
        try h.seek(toOffset: 100)
        h.write(Data([0xFF, 0xFE]))
        try h.close()
        let results = try s.ops.verify("org/model")
        #expect(results.filter { !$0.ok }.map(\.path) == ["model.safetensors"])
        let freed = try s.ops.remove("org/model")
        #expect(freed >= 3 << 20)
        #expect(FileSystem.kind(of: blob) == .missing)
        #expect(try s.ops.store.lock("org/model") == nil)
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
        #expect(throws: HubError.self) { _ = try offline.pull(.repo("org/never"), options: PullOptions(), progress: Self.quiet()) }
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
    }

    @Test func unsafePathsInTheListingAreRefused() throws {
        let s = try Self.setup(files: [("../evil.txt", Array("x".utf8))])
        #expect(throws: HubError.self) { _ = try s.ops.pull(.repo("org/model"), options: PullOptions(), progress: Self.quiet()) }
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
