import Foundation
import Platform
import StrictJSON
import Testing
import LoopbackHub
import TestSupport

/// The whole pair flow through the real binary against the loopback hub: a user manifest,
/// `list`, `pull --json`, `show --json`, `verify`, `convert PAIR`, `rm`.
@Suite struct PairFlowTests {
    static func run(_ arguments: [String], env: [String: String]) throws -> InspectCommandTests.Run {
        try InspectCommandTests.run(arguments, env: env)
    }

    static func files(_ folder: String) throws -> [(String, [UInt8])] {
        try FileSystem.contents(of: Fixtures.path(folder)).map {
            ($0, try FileSystem.readFile(Fixtures.path(folder + "/" + $0)))
        }
    }

    @Test func pullShowVerifyConvertRemove() throws {
        let hub = try LoopbackHub()
        hub.addRepo("test-org/tiny-llama3", files: try Self.files("llama3"), gated: true)
        hub.addRepo("test-org/tiny-hass-head", files: try Self.files("draft_llama3"))
        let home = Fixtures.temporaryDirectory("hasskit-flow")
        try FileManager.default.createDirectory(atPath: home + "/manifests", withIntermediateDirectories: true)
        let manifest = """
            {"schema": 1, "id": "tiny-pair", "aliases": ["tiny"], "title": "A tiny LLaMA-3 and its head", "family": "llama3",
             "chat_template": "llama3",
             "base": {"repo": "test-org/tiny-llama3", "revision": "main", "gated": true, "licence": "llama3",
                      "include": ["config.json", "*.safetensors", "model.safetensors.index.json"]},
             "draft": {"repo": "test-org/tiny-hass-head", "revision": "main", "gated": false, "licence": "apache-2.0",
                       "kind": "eagle1-head", "include": ["config.json", "pytorch_model.bin"]},
             "tree": {"gpu": {"top_k": 10, "depth": 5, "total_tokens": 60}, "cpu": {"top_k": 4, "depth": 3, "total_tokens": 16}},
             "published": {"source": "test"}}
            """
        FileManager.default.createFile(atPath: home + "/manifests/tiny.json", contents: Data(manifest.utf8))
        var env = [
            "HF_ENDPOINT": hub.endpoint, "HF_HUB_CACHE": home + "/hub", "HASSKIT_HOME": home + "/hasskit",
            "HASSKIT_MANIFESTS": home + "/manifests", "HF_TOKEN": "", "HF_HOME": home + "/hf",
            "HASSKIT_RETRY_BASE_SECONDS": "0.01",
        ]

        let list = try Self.run(["list", "--json"], env: env)
        #expect(list.status == 0)
        #expect(list.stdout.contains("\"tiny-pair\""))

        // Gated base without a token: a clear message, a distinct exit code, nothing pulled.
        let denied = try Self.run(["pull", "tiny"], env: env)
        #expect(denied.status == 77, "\(denied.stderr)")
        #expect(denied.stderr.contains("HF_TOKEN"))
        #expect(
            FileSystem.kind(of: home + "/hub/models--test-org--tiny-llama3/blobs") == .missing,
            "a refused pull reserved space")
        let invalid = try Self.run(["pull", "tiny"], env: env.merging(["HF_TOKEN": "hf_not_a_token"]) { $1 })
        #expect(invalid.status == 77, "\(invalid.stderr)")
        #expect(invalid.stderr.contains("HF_TOKEN is set but the hub rejected it"), "\(invalid.stderr)")

        // A revision is a path under refs/: one that could leave the cache is a usage error.
        let escape = try Self.run(["pull", "test-org/tiny-hass-head", "--revision", "../../../../escaped"], env: env)
        #expect(escape.status == 64, "\(escape.stderr)")
        #expect(escape.stderr.contains("may not contain .."), "\(escape.stderr)")

        env["HF_TOKEN"] = hub.token
        // The plan first: both members, gating and access, nothing written.
        let plan = try Self.run(["pull", "tiny", "--dry-run", "--json"], env: env)
        #expect(plan.status == 0, "\(plan.stderr)")
        let planDoc = try JSONParser().parse(plan.stdout)
        #expect(planDoc["members"]?.arrayValue?.map { $0["role"]?.stringValue } == ["base", "draft"])
        #expect(planDoc["members"]?.arrayValue?.first?["gated"]?.stringValue == "manual")
        #expect(planDoc["members"]?.arrayValue?.first?["access"]?.stringValue == "granted")
        #expect((planDoc["bytes_to_fetch"]?.uint64Value ?? 0) > 1_000_000 && planDoc["fits"]?.boolValue == true)
        #expect(FileSystem.kind(of: home + "/hub/models--test-org--tiny-llama3") == .missing)

        // compat --remote before pulling: the configs whole, the base's safetensors headers and
        // the head's pytorch_model.bin directory and data.pkl by ranges; nothing lands in the cache.
        let remote = try Self.run(["compat", "tiny", "--remote", "--json"], env: env)
        #expect(remote.status == 0, "\(remote.stderr)")
        let remoteDoc = try JSONParser().parse(remote.stdout)
        #expect(remoteDoc["compatible"]?.boolValue == true, "\(remote.stdout)")
        let read = remoteDoc["bytes_read"]?.uint64Value ?? .max, onHub = remoteDoc["bytes_on_hub"]?.uint64Value ?? 0
        #expect(read < onHub / 10, "read \(read) of \(onHub)")
        #expect(FileSystem.kind(of: home + "/hub/models--test-org--tiny-llama3") == .missing)
        let pull = try Self.run(["pull", "tiny", "--json"], env: env)
        #expect(pull.status == 0, "\(pull.stderr)")
        let summary = try JSONParser().parse(pull.stdout)
        #expect(summary["pair"]?.stringValue == "tiny-pair")
        let files = try #require(summary["files"]?.arrayValue)
        #expect(files.count == 6)
        #expect(files.allSatisfy { $0["status"]?.stringValue == "downloaded" })
        #expect(summary["bytes_downloaded"]?.uint64Value ?? 0 > 1_000_000)
        #expect(hub.cdnAuthorizations == 0)

        let show = try JSONParser().parse(try Self.run(["show", "tiny-pair", "--json"], env: env).stdout)
        #expect(show["local"]?.arrayValue?.count == 2)
        #expect(show["local"]?.arrayValue?.allSatisfy { $0["present"] == $0["files"] } == true)

        #expect(try Self.run(["verify", "tiny"], env: env).status == 0)

        // compat PAIR before converting: decided from the pulled snapshots' headers and configs.
        let early = try Self.run(["compat", "tiny", "--json"], env: env)
        #expect(early.status == 0, "\(early.stderr)")
        let earlyDoc = try JSONParser().parse(early.stdout)
        #expect(earlyDoc["compatible"]?.boolValue == true && earlyDoc["top1_agreement"]?.isNull == true)
        #expect(earlyDoc["checks_run"]?.arrayValue?.compactMap(\.stringValue) == ["structural"])

        let convert = try Self.run(["convert", "tiny", "--type", "q8_0", "--json"], env: env)
        #expect(convert.status == 0, "\(convert.stderr)")
        let reports = try JSONParser().parse(convert.stdout)
        #expect(reports["draft"]?["shared_with_base"]?.arrayValue?.count == 1)
        // list: what the pair occupies, pulled and converted (each blob once).
        let listed = try JSONParser().parse(try Self.run(["list", "--json"], env: env).stdout)
        let row = try #require(listed.arrayValue?.first { $0["id"]?.stringValue == "tiny-pair" })
        let pulledBytes = summary["bytes_downloaded"]?.uint64Value ?? 0
        #expect(
            row["pulled"]?.boolValue == true && row["bytes_downloaded"]?.uint64Value == pulledBytes,
            "\(row.serialized())")
        #expect((row["bytes_converted"]?.uint64Value ?? 0) > 0)
        let inspect = try JSONParser().parse(
            try Self.run(["inspect", home + "/hasskit/pairs/tiny-pair/draft-q8_0.hkw", "--json"], env: env).stdout)
        #expect(inspect["metadata"]?["provenance"]?["repo"]?.stringValue == "test-org/tiny-hass-head")

        // The converted pair fits; `check PAIR` finds it in the store (this tiny base has no
        // tokenizer, so it stops there, naming the store's file).
        let compat = try Self.run(
            [
                "compat", home + "/hasskit/pairs/tiny-pair/base-q8_0.hkw",
                home + "/hasskit/pairs/tiny-pair/draft-q8_0.hkw", "--json",
            ], env: env)
        #expect(compat.status == 0, "\(compat.stderr)")
        let check = try Self.run(["check", "tiny"], env: env)
        #expect(
            check.status == 64 && check.stderr.contains("tiny-pair/base-q8_0.hkw carries no tokenizer.json"),
            "\(check.stderr)")

        // Hand-off: --dry-run writes nothing; the export points at the hub-cache snapshot.
        let dry = try Self.run(
            ["export", "tiny", "--engine", "sglang", "--out", home + "/export", "--dry-run"], env: env)
        #expect(dry.status == 0 && dry.stdout.contains("would write"), "\(dry.stderr)")
        #expect(FileSystem.kind(of: home + "/export") == .missing)
        let export = try Self.run(
            ["export", "tiny", "--engine", "sglang", "--out", home + "/export", "--json"], env: env)
        #expect(export.status == 0, "\(export.stderr)")
        let commands = try JSONParser().parse(export.stdout)["commands"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(commands.first?.contains(home + "/hub/models--test-org--tiny-llama3/snapshots/") == true, "\(commands)")
        #expect(FileSystem.kind(of: home + "/export/draft/model.safetensors") == .file)
        #expect(try Self.run(["export", "tiny", "--engine", "vllm", "--out", home + "/export"], env: env).status == 64)

        let rm = try Self.run(["rm", "tiny", "--json"], env: env)
        #expect(rm.status == 0)
        #expect(try Self.run(["verify", "tiny"], env: env).status == 66)
    }

    /// `hasskit demo`: the registry's demo entry pulled from the loopback hub it starts, converted,
    /// checked; a second run finds everything in its cache. Outside the demo the entry refuses to pull.
    @Test func demoRunsThePipelineOffline() throws {
        let home = Fixtures.temporaryDirectory("hasskit-demo")
        let env = ["HASSKIT_HOME": home + "/hasskit", "HF_ENDPOINT": "", "HF_HUB_CACHE": home + "/user-cache"]
        let first = try Self.run(
            ["demo", "--workdir", home + "/demo", "--max-tokens", "8", "--prompt-count", "2", "--json"], env: env)
        #expect(first.status == 0, "\(first.stderr)")
        let doc = try JSONParser().parse(first.stdout)
        #expect(doc["pull"]?["files"]?.intValue == 7)
        #expect(doc["pull"]?["bytes_downloaded"]?.uint64Value == doc["pull"]?["bytes"]?.uint64Value)
        #expect(doc["compat"]?["compatible"]?.boolValue == true)
        #expect((doc["compat"]?["top1_agreement"]?.doubleValue ?? 0) > 0.6)
        #expect(doc["check"]?["identical"]?.boolValue == true)
        #expect(doc["check"]?["prompts"]?.intValue == 2)
        #expect((doc["check"]?["acceptance_length"]?.doubleValue ?? 0) > 2)
        #expect(doc["convert"]?["draft"]?["shared_with_base"]?.arrayValue?.count == 1)
        #expect(FileSystem.kind(of: home + "/user-cache") == .missing, "the demo must not touch the user's cache")

        let second = try Self.run(
            ["demo", "--workdir", home + "/demo", "--max-tokens", "4", "--prompt-count", "1", "--json"], env: env)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(try JSONParser().parse(second.stdout)["pull"]?["bytes_downloaded"]?.uint64Value == 0)

        let pull = try Self.run(["pull", "demo"], env: env)
        #expect(pull.status != 0 && pull.stderr.contains("hasskit demo"), "\(pull.stderr)")
    }
}
