import Foundation
import LoopbackHub
import Platform
import StrictJSON
import Testing
import TestSupport

/// Pairs bigger than this machine, as shape twins (real names, types and shapes; the data a
/// hole in a sparse file): `check` refuses the LLaMA-3-70B pair before touching a weight, with
/// the numbers, on a machine of this project's kind (24 GiB).
@Suite struct BiggerThanTheMachineTests {
    @Test func theSeventyBPairIsRefusedUpFrontWithTheNumbers() throws {
        let dir = Fixtures.temporaryDirectory("hasskit-twin")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try ShapeTwin.writeBase(.llama3_70B, to: dir + "/base.hkw")
        try ShapeTwin.writeHead(.llama3_70B, to: dir + "/head.hkw")
        let env = ["HASSKIT_MEMORY_BYTES": String(24 << 30)]
        let started = Date()
        let r = try InspectCommandTests.run(
            ["check", "--base", dir + "/base.hkw", "--draft", dir + "/head.hkw", "--max-tokens", "64"], env: env)
        #expect(r.status == 79, "\(r.stderr)")
        // 70.55 B BF16 parameters and the head's 0.99 B: 131.4 + 1.8 GiB of weights.
        #expect(r.stderr.contains("weights 133.3"), "\(r.stderr)")
        #expect(r.stderr.contains("24.0 GiB available of 24.0 GiB") && r.stderr.contains("export"), "\(r.stderr)")
        #expect(Date().timeIntervalSince(started) < 30, "refused from the headers, not after reading weights")
        let run = try InspectCommandTests.run(
            ["run", dir + "/base.hkw", "--prompt-ids", "128000,9906", "--max-tokens", "8"], env: env)
        #expect(run.status == 79 && run.stderr.contains("weights 131.4"), "\(run.stderr)")
    }

    /// compat from checkpoints, without converting: the five published EAGLE-head pairs, as shape
    /// twins of their hub repositories (sharded BF16 safetensors with an index, the head in HASS's
    /// layout), fit in seconds from headers and configs alone; a LLaMA-2 head on the LLaMA-3-8B
    /// base is refused (78), each mismatch named.
    @Test func compatDecidesFromCheckpointsWithoutReadingWeights() throws {
        let dir = Fixtures.temporaryDirectory("hasskit-twin")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (id, shape) in ShapeTwin.headPairs {
            try ShapeTwin.writeCheckpoint(shape, to: dir + "/\(id)/base")
            try ShapeTwin.writeHeadCheckpoint(shape, to: dir + "/\(id)/draft")
            let started = Date()
            let r = try InspectCommandTests.run(["compat", dir + "/\(id)/base", dir + "/\(id)/draft", "--json"])
            let seconds = Date().timeIntervalSince(started)
            #expect(r.status == 0, "\(id): \(r.stderr)")
            let doc = try JSONParser().parse(r.stdout)
            #expect(doc["compatible"]?.boolValue == true, "\(id): \(r.stdout)")
            #expect(doc["checks_run"]?.arrayValue?.compactMap(\.stringValue) == ["structural"], "\(id)")
            #expect(doc["agreement_skipped"]?.stringValue?.contains("converted") == true, "\(id)")
            #expect(seconds < 20, "\(id): \(seconds) s")
        }
        let wrong = try InspectCommandTests.run([
            "compat", dir + "/llama3-instruct-8b/base", dir + "/llama2-chat-7b/draft", "--json",
        ])
        #expect(wrong.status == 78, "\(wrong.stderr)")
        let failed = try JSONParser().parse(wrong.stdout)["checks"]?.arrayValue?.filter {
            $0["ok"]?.boolValue == false
        }.compactMap { $0["name"]?.stringValue }
        #expect(failed == ["vocabulary", "embedding", "rope theta"], "\(failed ?? [])")
    }

    /// compat PAIR --remote on the LLaMA-3-8B pair at its real size (a 16 GB base, as shape twins
    /// served from sparse files): decided from a few megabytes read by range, the count reported.
    @Test func remoteCompatReadsAFewMegabytesOfASixteenGigabytePair() throws {
        let dir = Fixtures.temporaryDirectory("hasskit-twin")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try ShapeTwin.writeCheckpoint(.llama3_8B, to: dir + "/base")
        try ShapeTwin.writeHeadCheckpoint(.llama3_8B, to: dir + "/draft")
        let hub = try LoopbackHub()
        defer { hub.stop() }
        func repo(_ id: String, _ folder: String) throws {
            let names = try FileSystem.contents(of: folder)
            let small = try names.filter { !$0.hasSuffix(".safetensors") }.map {
                ($0, try FileSystem.readFile(folder + "/" + $0))
            }
            let big = names.filter { $0.hasSuffix(".safetensors") }.map { (path: $0, local: folder + "/" + $0) }
            try hub.addRepo(id, files: small, mapped: big)
        }
        try repo("twin/llama3-8b", dir + "/base")
        try repo("twin/llama3-8b-head", dir + "/draft")
        try FileSystem.createDirectory(dir + "/manifests")
        let manifest = """
            {"schema": 1, "id": "twin-8b", "title": "LLaMA-3-8B twin", "family": "llama3", "chat_template": "llama3",
             "base": {"repo": "twin/llama3-8b", "revision": "main", "gated": false, "licence": "llama3",
                      "include": ["config.json", "*.safetensors", "model.safetensors.index.json"]},
             "draft": {"repo": "twin/llama3-8b-head", "revision": "main", "gated": false, "licence": "apache-2.0",
                       "kind": "eagle1-head", "include": ["config.json", "model.safetensors"]},
             "tree": {"gpu": {"top_k": 10, "depth": 5, "total_tokens": 60}, "cpu": {"top_k": 1, "depth": 2, "total_tokens": 4}},
             "published": {"source": "test"}}
            """
        try Data(manifest.utf8).write(to: URL(fileURLWithPath: dir + "/manifests/twin.json"))
        let env = [
            "HF_ENDPOINT": hub.endpoint, "HF_HUB_CACHE": dir + "/hub", "HASSKIT_HOME": dir + "/hasskit",
            "HASSKIT_MANIFESTS": dir + "/manifests", "HF_TOKEN": "", "HF_HOME": dir + "/hf",
        ]
        let r = try InspectCommandTests.run(["compat", "twin-8b", "--remote", "--json"], env: env)
        #expect(r.status == 0, "\(r.stderr)")
        let doc = try JSONParser().parse(r.stdout)
        #expect(doc["compatible"]?.boolValue == true, "\(r.stdout)")
        let read = try #require(doc["bytes_read"]?.uint64Value), onHub = try #require(doc["bytes_on_hub"]?.uint64Value)
        #expect(onHub > 16_000_000_000 && read < 1_000_000, "read \(read) of \(onHub)")
        // Two ranges per safetensors file (4 base shards and the head) and each small file once.
        #expect(doc["requests"]?.intValue == 2 * 5 + 3, "\(doc["requests"]?.intValue ?? -1)")
    }
}
