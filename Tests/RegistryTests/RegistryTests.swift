import Foundation
import Platform
import Registry
import StrictJSON
import Testing
import TestSupport

@Suite struct RegistryTests {
    @Test func bundledManifestsLoadAndCoverThePublishedPairs() throws {
        let r = try Registry(extraDirectory: nil)
        #expect(
            Set(r.manifests.map(\.id)) == [
                "llama2-chat-7b", "llama2-chat-13b", "llama3-instruct-8b", "llama3-instruct-70b",
                "deepseek-r1", "deepseek-r1-distill-qwen-32b", "demo",
            ])
        #expect(r.manifest(named: "llama3-8b")?.id == "llama3-instruct-8b")
        #expect(r.manifest(named: "LLAMA3-8B")?.draft.repo == "HArmonizedSS/HASS-LLaMA3-Instruct-8B")
        #expect(r.manifest(named: "deepseek-r1")?.draftKind == .deepseekMTP)
        #expect(r.manifest(named: "nope") == nil)
        for m in r.manifests where !m.localOnly {
            #expect(m.cpuTree == Manifest.Tree(topK: 1, depth: 2, totalTokens: 4))
            #expect(m.gpuTree == Manifest.Tree(topK: 10, depth: 5, totalTokens: 60))
            #expect(m.base.repo.contains("/") && m.draft.repo.hasPrefix("HArmonizedSS/HASS-"))
        }
        #expect(r.manifest(named: "llama2-chat-7b")?.base.gated == true)
        let demo = try #require(r.manifest(named: "hass-demo"))
        #expect(
            demo.localOnly && demo.id == "demo" && demo.gpuTree == Manifest.Tree(topK: 4, depth: 4, totalTokens: 16))
    }

    /// The manifests compiled into the binary are exactly the files in manifests/.
    @Test func embeddedCopyMatchesTheFiles() throws {
        let dir = Fixtures.root + "/../../manifests"
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".json") }.sorted()
        let r = try Registry(extraDirectory: nil)
        #expect(names.count == r.manifests.count, "run Scripts/embed-manifests.py")
        for name in names {
            let text = try String(contentsOfFile: dir + "/" + name, encoding: .utf8)
            let m = try Manifest(json: try JSONParser().parse(text), file: name)
            #expect(
                r.manifest(named: m.id) == m, "\(name) differs from the embedded copy: run Scripts/embed-manifests.py")
        }
    }

    @Test func invalidManifestsNameFileAndField() throws {
        let good = try JSONParser().parse(BundledText.llama3)
        func mutate(_ key: String, _ value: JSONValue?) -> JSONValue {
            guard case var .object(members) = good else { return good }
            if let value {
                if let i = members.firstIndex(where: { $0.0 == key }) {
                    members[i].1 = value
                } else {
                    members.append((key, value))
                }
            } else {
                members.removeAll { $0.0 == key }
            }
            return .object(members)
        }
        let cases: [(JSONValue, String)] = [
            (mutate("id", .string("Bad ID")), "id"), (mutate("family", .string("gpt")), "family"),
            (mutate("base", nil), "base"), (mutate("schema", .int(2)), "schema"),
            (mutate("draft", .object([("repo", .string("no-slash"))])), "draft.repo"),
            (mutate("tree", .object([])), "tree.gpu.top_k"),
            // A revision is a path under the cache's refs/: one that could leave it is refused.
            (
                mutate(
                    "base",
                    .object([
                        ("repo", .string("org/model")), ("revision", .string("../../../../x")), ("gated", .bool(false)),
                        ("licence", .string("mit")), ("include", .array([.string("*")])),
                    ])), "base.revision"
            ),
            (
                mutate(
                    "base",
                    .object([
                        ("repo", .string("org/..")), ("revision", .string("main")), ("gated", .bool(false)),
                        ("licence", .string("mit")), ("include", .array([.string("*")])),
                    ])), "base.repo"
            ),
        ]
        for (json, field) in cases {
            do {
                _ = try Manifest(json: json, file: "x.json")
                Issue.record("accepted a bad \(field)")
            } catch {
                #expect(error.field == field)
                #expect(error.description.hasPrefix("x.json: \(field)"))
            }
        }
    }

    @Test func extraFolderAddsPairsAndRejectsClashes() throws {
        let dir = Fixtures.temporaryDirectory("hasskit-manifests")
        let custom = BundledText.llama3.replacingOccurrences(of: "\"llama3-instruct-8b\"", with: "\"my-pair\"")
            .replacingOccurrences(of: "\"llama3-8b\"", with: "\"mine\"")
        FileManager.default.createFile(atPath: dir + "/mine.json", contents: Data(custom.utf8))
        let r = try Registry(extraDirectory: dir)
        #expect(r.manifest(named: "mine")?.id == "my-pair")
        let clash = BundledText.llama3.replacingOccurrences(of: "\"llama3-instruct-8b\"", with: "\"other\"")
        FileManager.default.createFile(atPath: dir + "/clash.json", contents: Data(clash.utf8))
        // The message names the files the two manifests came from, not a guessed manifests/<id>.json.
        let error = #expect(throws: ManifestError.self) { _ = try Registry(extraDirectory: dir) }
        #expect(error?.file == dir + "/mine.json" || error?.file == dir + "/clash.json", "\(String(describing: error))")
        #expect(
            error?.description.contains(dir) == true && error?.description.contains("manifests/") == true,
            "\(String(describing: error))")
    }
}

enum BundledText {
    static var llama3: String {
        (try? String(contentsOfFile: Fixtures.root + "/../../manifests/llama3-instruct-8b.json", encoding: .utf8))
            ?? "{}"
    }
}
