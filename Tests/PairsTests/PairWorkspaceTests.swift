import Checks
import Conversion
import Foundation
import Hub
import Inference
import LoopbackHub
import Pairs
import Platform
import Registry
import Testing
import TestSupport

/// The pair workflow in-process, through `PairWorkspace`: the trained demo pair pulled from a
/// loopback hub, converted into the store, found again by type, checked for fit and decoded
/// both ways.
@Suite struct PairWorkspaceTests {
    static func files(_ folder: String) throws -> [(String, [UInt8])] {
        try FileSystem.contents(of: Fixtures.path(folder)).map {
            ($0, try FileSystem.readFile(Fixtures.path(folder + "/" + $0)))
        }
    }

    @Test func pullConvertCompatCheck() throws {
        let manifest = try #require(try Registry(extraDirectory: nil).manifest(named: "demo"))
        let hub = try LoopbackHub()
        defer { hub.stop() }
        hub.addRepo(manifest.base.repo, files: try Self.files("demo-pair/base"))
        hub.addRepo(manifest.draft.repo, files: try Self.files("demo-pair/draft"))
        let home = Fixtures.temporaryDirectory("hasskit-pairs")
        let environment = HubEnvironment(
            endpoint: hub.endpoint, token: nil, cacheDirectory: home + "/hub", offline: false, hasskitHome: home)
        let workspace = PairWorkspace(manifest: manifest, client: HubClient(environment: environment))

        // Before anything: not converted.
        #expect(throws: PairError(.notConverted, pair: "demo")) { _ = try workspace.convertedFiles(type: nil) }

        let summary = try workspace.pull(progress: DownloadProgress(style: .quiet) { _ in })
        #expect(summary.files.count == 7 && summary.files.allSatisfy { $0.status == .downloaded })

        let converted = try workspace.convert(type: .q8_0, options: Converter.Options(type: .q8_0))
        #expect(converted.files == PairWorkspace.ConvertedFiles(folder: home + "/pairs/demo", type: "q8_0"))
        #expect(converted.draft.shared == ["token_embd.weight"], "the head was not converted against the base")
        #expect(try workspace.convertedFiles(type: nil) == converted.files)
        #expect(throws: PairError.self) { _ = try workspace.convertedFiles(type: "q4_0") }

        let compat = try PairWorkspace.structuralCompat(base: converted.files.base, draft: converted.files.draft)
        #expect(compat.compatible)
        let opened = try OpenedPair(base: converted.files.base, draft: converted.files.draft, threads: 2)
        let prompts = try opened.encode(texts: Array(PromptSet.bundled.prefix(2)))
        #expect(opened.top1Agreement(prompts: prompts, continuation: 8) > 0.5)
        let check = opened.check(prompts: prompts, settings: workspace.cpuTree, maxTokens: 16)
        #expect(check.identical && check.results.count == 2)
        #expect(check.tau >= 1)
    }
}
