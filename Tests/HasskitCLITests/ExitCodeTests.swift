import Foundation
@testable import HasskitCLI
import LoopbackHub
import Platform
import StrictJSON
import Testing
import TestSupport
import WeightFormat

/// Every exit code the README documents, each produced the way a user meets it, through the real
/// binary (70 in-process: no user input may produce it).
@Suite struct ExitCodeTests {
    typealias Run = InspectCommandTests.Run

    static func run(_ arguments: [String], env: [String: String] = [:]) throws -> Run {
        try InspectCommandTests.run(arguments, env: env)
    }

    /// A loopback hub with one small public repository, and an environment pointing at it.
    static func hub(_ home: String) throws -> (LoopbackHub, [String: String]) {
        let hub = try LoopbackHub()
        hub.addRepo(
            "org/model",
            files: [
                ("config.json", Array("{\"hidden_size\": 8}".utf8)),
                ("weights.bin", [UInt8](repeating: 7, count: 4096)),
            ])
        let env = [
            "HF_ENDPOINT": hub.endpoint, "HF_HUB_CACHE": home + "/hub", "HASSKIT_HOME": home + "/hasskit",
            "HF_TOKEN": "",
            "HF_HOME": home + "/hf", "HASSKIT_RETRY_BASE_SECONDS": "0.01", "HASSKIT_MANIFESTS": "",
        ]
        return (hub, env)
    }

    /// Raw Foundation error text must never reach a user.
    static func expectPlain(_ r: Run, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(
            !r.stderr.contains("NSCocoaErrorDomain") && !r.stderr.contains("Error Domain"), "\(r.stderr)",
            sourceLocation: sourceLocation)
    }

    /// Help and version are ArgumentParser's, exit 0 (a top-level error map once turned them into 70).
    @Test func helpAndVersionExitZero() throws {
        for args in [["--help"], ["pull", "--help"], ["help", "convert"], ["--version"]] {
            let r = try Self.run(args)
            #expect(r.status == 0, "\(args): \(r.stderr)")
            #expect(!(r.stdout + r.stderr).contains("bug in hasskit"), "\(args)")
        }
        #expect(try Self.run(["--help"]).stdout.contains("gc"))
    }

    @Test func usage64() throws {
        let empty = try Self.run(["convert", Fixtures.path("llama3"), "--out", ""])
        #expect(empty.status == 64, "\(empty.stderr)")
        let revision = try Self.run(["pull", "org/model", "--revision", "../../../../x"])
        #expect(revision.status == 64 && revision.stderr.contains("may not contain .."), "\(revision.stderr)")
    }

    @Test func badInput65() throws {
        let hostile = try Self.run(["inspect", Fixtures.path("hostile/pt_global_os_system.bin")])
        #expect(hostile.status == 65 && hostile.stderr.contains("os.system"), "\(hostile.stderr)")
        // A user manifest whose revision would leave the cache: refused naming the file and field.
        let dir = Fixtures.temporaryDirectory("hasskit-manifests")
        let text = try String(
            contentsOfFile: Fixtures.root + "/../../manifests/llama3-instruct-8b.json", encoding: .utf8
        )
        .replacingOccurrences(of: "\"llama3-instruct-8b\"", with: "\"evil\"").replacingOccurrences(
            of: "\"llama3-8b\"", with: "\"evil-8b\""
        )
        .replacingOccurrences(of: "\"revision\": \"main\"", with: "\"revision\": \"../../../../x\"")
        try Data(text.utf8).write(to: URL(fileURLWithPath: dir + "/evil.json"))
        let r = try Self.run(["list"], env: ["HASSKIT_MANIFESTS": dir])
        #expect(r.status == 65, "\(r.stderr)")
        #expect(r.stderr.contains(dir + "/evil.json") && r.stderr.contains("revision"), "\(r.stderr)")
    }

    /// A tokenizer construct hasskit does not implement is bad input naming the file (it was
    /// exit 70 "normalizer … is not supported").
    @Test func anUnsupportedTokenizerIsBadInputNamingTheFile() throws {
        let dir = Fixtures.temporaryDirectory()
        try FileSystem.createDirectory(dir + "/src")
        for name in try FileSystem.contents(of: Fixtures.path("demo-pair/base")) {
            var bytes = try FileSystem.readFile(Fixtures.path("demo-pair/base/" + name))
            if name == "tokenizer.json" {
                let text = String(decoding: bytes, as: UTF8.self)
                    .replacingOccurrences(
                        of: "\"normalizer\": null", with: "\"normalizer\": {\"type\": \"Precompiled\"}")
                #expect(text.contains("Precompiled"), "the fixture's tokenizer has no \"normalizer\": null to replace")
                bytes = Array(text.utf8)
            }
            try Data(bytes).write(to: URL(fileURLWithPath: dir + "/src/" + name))
        }
        // transformers 5 writes the chat template to chat_template.jinja: convert carries it.
        try Data("{% for m in messages %}{{ m['content'] }}{% endfor %}".utf8).write(
            to: URL(fileURLWithPath: dir + "/src/chat_template.jinja"))
        #expect(try Self.run(["convert", dir + "/src", "--out", dir + "/m.hkw", "--type", "q8_0"]).status == 0)
        #expect(
            try HKWFile(path: dir + "/m.hkw").file(named: "chat_template.jinja") != nil,
            "convert dropped chat_template.jinja")
        let r = try Self.run(["run", dir + "/m.hkw", "--prompt", "hello", "--max-tokens", "2"])
        #expect(r.status == 65, "\(r.stderr)")
        #expect(r.stderr.contains(dir + "/m.hkw") && r.stderr.contains("Precompiled"), "\(r.stderr)")
        // Ids in, ids out still works, with a warning.
        let ids = try Self.run(["run", dir + "/m.hkw", "--prompt-ids", "1,2,3", "--max-tokens", "3", "--json"])
        #expect(ids.status == 0 && ids.stderr.contains("warning"), "\(ids.stderr)")
        #expect(try JSONParser().parse(ids.stdout)["output_ids"]?.arrayValue?.count == 3)
    }

    @Test func notFound66() throws {
        let r = try Self.run(["inspect", "/nonexistent/model.safetensors"])
        #expect(r.status == 66, "\(r.stderr)")
    }

    @Test func network69() throws {
        let home = Fixtures.temporaryDirectory("hasskit-exit")
        // Nothing listens on port 9 of loopback: every attempt is refused, then given up.
        let r = try Self.run(
            ["pull", "org/model", "--quiet"],
            env: [
                "HF_ENDPOINT": "http://127.0.0.1:9", "HF_HUB_CACHE": home + "/hub",
                "HASSKIT_HOME": home, "HASSKIT_RETRY_BASE_SECONDS": "0.01",
            ])
        #expect(r.status == 69, "\(r.stderr)")
    }

    /// 70 is kept for hasskit's own bugs: an error no module owns.
    @Test func software70IsOnlyForErrorsNoModuleOwns() {
        struct NotOurs: Error {}
        #expect(HasskitExit.code(for: NotOurs()) == 70)
        #expect(HasskitExit.code(for: CocoaError(.fileWriteNoPermission)) == 74)
    }

    @Test func io74WhenTheCacheCannotBeWritten() throws {
        let home = Fixtures.temporaryDirectory("hasskit-exit")
        let (hub, env) = try Self.hub(home)
        defer { hub.stop() }
        // The cache path runs through a regular file.
        try Data("x".utf8).write(to: URL(fileURLWithPath: home + "/file"))
        let r = try Self.run(
            ["pull", "org/model", "--quiet"], env: env.merging(["HF_HUB_CACHE": home + "/file/hub"]) { $1 })
        #expect(r.status == 74, "\(r.stderr)")
        #expect(r.stderr.contains(home + "/file/hub") && r.stderr.contains("Not a directory"), "\(r.stderr)")
        Self.expectPlain(r)
        // --local-dir under a regular file.
        let local = try Self.run(["pull", "org/model", "--quiet", "--local-dir", home + "/file/out"], env: env)
        #expect(local.status == 74, "\(local.stderr)")
        Self.expectPlain(local)
    }

    /// A read-only cache (a read-only tmpfs: permission bits do not stop root, which CI runs as).
    @Test func io74OnAReadOnlyFileSystem() throws {
        let home = Fixtures.temporaryDirectory("hasskit-exit")
        let mountPoint = home + "/ro"
        try FileSystem.createDirectory(mountPoint)
        let mount = Process()
        mount.executableURL = URL(fileURLWithPath: "/bin/mount")
        mount.arguments = ["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", mountPoint]
        mount.standardError = FileHandle.nullDevice
        guard (try? mount.run()) != nil,
            {
                mount.waitUntilExit(); return mount.terminationStatus == 0
            }()
        else {
            print("skipped: cannot mount a read-only tmpfs here (needs root), so the read-only case is not tested")
            return
        }
        defer {
            let umount = Process()
            umount.executableURL = URL(fileURLWithPath: "/bin/umount")
            umount.arguments = [mountPoint]
            try? umount.run()
            umount.waitUntilExit()
        }
        let (hub, env) = try Self.hub(home)
        defer { hub.stop() }
        let r = try Self.run(
            ["pull", "org/model", "--quiet"], env: env.merging(["HF_HUB_CACHE": mountPoint + "/hub"]) { $1 })
        #expect(r.status == 74, "\(r.stderr)")
        #expect(r.stderr.contains(mountPoint) && r.stderr.contains("Read-only file system"), "\(r.stderr)")
        Self.expectPlain(r)
        let local = try Self.run(["pull", "org/model", "--quiet", "--local-dir", mountPoint + "/out"], env: env)
        #expect(local.status == 74 && local.stderr.contains("Read-only file system"), "\(local.stderr)")
        Self.expectPlain(local)
    }

    /// A flipped byte in a converted file: `verify FILE.hkw` names the entry and exits 75, and
    /// reading the damaged tokenizer is reported as damage, not as a parse error.
    @Test func integrity75() throws {
        let dir = Fixtures.temporaryDirectory()
        let path = dir + "/b.hkw"
        let convert = try Self.run(["convert", Fixtures.path("demo-pair/base"), "--out", path, "--type", "q8_0"])
        #expect(convert.status == 0, "\(convert.stderr)")
        let ok = try Self.run(["verify", path, "--json"])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(try JSONParser().parse(ok.stdout)["ok"]?.boolValue == true)

        let file = try HKWFileProbe.entry(path, "tokenizer.json")
        let h = try #require(FileHandle(forUpdatingAtPath: path))
        try h.seek(toOffset: file.absoluteOffset + file.length / 2)
        let byte = try #require(h.readData(ofLength: 1).first)
        try h.seek(toOffset: file.absoluteOffset + file.length / 2)
        h.write(Data([byte ^ 0x20]))
        try h.close()

        let bad = try Self.run(["verify", path])
        #expect(bad.status == 75, "\(bad.stderr)")
        #expect(bad.stdout.contains("tokenizer.json"), "\(bad.stdout)")
        let runDamaged = try Self.run(["run", path, "--prompt", "hello", "--max-tokens", "2"])
        #expect(runDamaged.status == 75, "\(runDamaged.stderr)")
        #expect(
            runDamaged.stderr.contains(path) && runDamaged.stderr.contains("tokenizer.json"), "\(runDamaged.stderr)")
    }

    @Test func noPermission77() throws {
        let home = Fixtures.temporaryDirectory("hasskit-exit")
        let hub = try LoopbackHub()
        defer { hub.stop() }
        hub.addRepo("org/gated", files: [("config.json", Array("{}".utf8))], gated: true)
        let env = [
            "HF_ENDPOINT": hub.endpoint, "HF_HUB_CACHE": home + "/hub", "HASSKIT_HOME": home, "HF_TOKEN": "",
            "HF_HOME": home + "/hf",
        ]
        let r = try Self.run(["pull", "org/gated", "--quiet"], env: env)
        #expect(r.status == 77 && r.stderr.contains("gated"), "\(r.stderr)")
        let verbose = try Self.run(["pull", "org/gated", "--quiet", "--verbose"], env: env)
        #expect(verbose.stderr.contains("HubError .gated → exit 77"), "\(verbose.stderr)")
    }

    /// A prompt is any text, one that starts with a dash included.
    /// A pair that needs more memory than the machine has is refused before a weight is touched,
    /// with the numbers; --force runs it anyway. (HASSKIT_MEMORY_BYTES stands in for a small
    /// machine.)
    @Test func doesNotFit79() throws {
        let dir = Fixtures.temporaryDirectory("hasskit-exit")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (src, out) in [("demo-pair/base", "b.hkw"), ("demo-pair/draft", "d.hkw")] {
            let c = try Self.run(["convert", Fixtures.path(src), "--out", dir + "/" + out, "--type", "f32"])
            #expect(c.status == 0, "\(c.stderr)")
        }
        let small = ["HASSKIT_MEMORY_BYTES": "1048576"]
        let check = ["check", "--base", dir + "/b.hkw", "--draft", dir + "/d.hkw", "--max-tokens", "4"]
        let refused = try Self.run(check, env: small)
        #expect(refused.status == 79, "\(refused.stderr)")
        #expect(
            refused.stderr.contains("needs about") && refused.stderr.contains("weights")
                && refused.stderr.contains("0.0 GiB available of 0.0 GiB") && refused.stderr.contains("--force"),
            "\(refused.stderr)")
        let forced = try Self.run(check + ["--force"], env: small)
        #expect(forced.status == 0, "\(forced.stderr)")
        let run = try Self.run(["run", dir + "/b.hkw", "--prompt-ids", "1,2,3", "--max-tokens", "2"], env: small)
        #expect(run.status == 79, "\(run.stderr)")
        #expect(try Self.run(["run", dir + "/b.hkw", "--prompt-ids", "1,2,3", "--max-tokens", "2"]).status == 0)
    }

    @Test func promptsMayStartWithADash() throws {
        let dir = Fixtures.temporaryDirectory()
        #expect(
            try Self.run(["convert", Fixtures.path("demo-pair/base"), "--out", dir + "/b.hkw", "--type", "q8_0"]).status
                == 0)
        let r = try Self.run([
            "run", dir + "/b.hkw", "--prompt", "-12.5e-3 and 6.022e23", "--max-tokens", "2", "--json",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect((try JSONParser().parse(r.stdout)["prompt_ids"]?.arrayValue?.count ?? 0) > 3)
    }
}

/// Where an entry's bytes lie in a `.hkw` file, read from its header (the tests damage them).
enum HKWFileProbe {
    struct Location {
        var absoluteOffset: UInt64
        var length: UInt64
    }

    static func entry(_ path: String, _ name: String) throws -> Location {
        let bytes = try FileSystem.readFile(path)
        func u64(_ at: Int) -> UInt64 { (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) } }
        let headerOffset = Int(u64(16)), headerLength = Int(u64(24)), dataOffset = u64(32)
        let header = try JSONParser().parse(Array(bytes[headerOffset..<headerOffset + headerLength]))
        let all = (header["files"]?.arrayValue ?? []) + (header["tensors"]?.arrayValue ?? [])
        guard let e = all.first(where: { $0["name"]?.stringValue == name }), let offset = e["offset"]?.uint64Value,
            let length = e["length"]?.uint64Value
        else {
            throw HKWProbeError.noEntry(name)
        }
        return Location(absoluteOffset: dataOffset + offset, length: length)
    }

    enum HKWProbeError: Error { case noEntry(String) }
}
