import Checkpoints
import StrictJSON
import Testing
import TestSupport

/// The hostile corpus (`Tests/Fixtures/hostile`, expectations from `expectations.json`).
@Suite struct HostileCorpusTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var file: String
        var expect: String
        var reason: String
        var testDescription: String { "\(expect): \(file)" }
    }

    static let cases: [Case] = {
        guard let json = try? Fixtures.json("hostile/expectations.json"), let files = json["files"]?.arrayValue else {
            return []
        }
        return files.compactMap { f in
            guard let file = f["file"]?.stringValue, let expect = f["expect"]?.stringValue else { return nil }
            return Case(file: file, expect: expect, reason: f["reason"]?.stringValue ?? "")
        }
    }()

    @Test func corpusIsComplete() {
        #expect(Self.cases.count == 117)  // 102 from the team's corpus, 15 GGUF (Scripts/gen_hostile_gguf.py)
    }

    @Test(arguments: cases)
    func handledAsExpected(_ c: Case) throws {
        let path = Fixtures.path("hostile/" + c.file)
        let result: Result<Checkpoint, Error> = Result { try Checkpoint.open(path) }
        switch c.expect {
        case "reject":
            #expect(throws: CheckpointError.self, "\(c.reason)") { try result.get() }
            if case let .failure(e as CheckpointError) = result {
                // The message names the file (or the index in its folder) and gives a reason.
                #expect(e.description.contains(c.file.hasSuffix("/") ? String(c.file.dropLast()) : c.file))
                #expect(!e.reason.isEmpty)
            }
        case "accept":
            let checkpoint = try result.get()
            for t in checkpoint.tensors { _ = try t.floats() }
            try ConversionPolicy.check(checkpoint)
        case "reject-policy":
            // May load, but conversion must refuse it; a load that fails must fail as a refusal
            // that names the file, like the plain rejects.
            switch result {
            case let .success(checkpoint):
                #expect(throws: CheckpointError.self, "\(c.reason)") { try ConversionPolicy.check(checkpoint) }
            case let .failure(e as CheckpointError):
                #expect(e.description.contains(c.file.hasSuffix("/") ? String(c.file.dropLast()) : c.file), "\(e)")
                #expect(!e.reason.isEmpty)
            case let .failure(e):
                Issue.record("\(c.file): failed with \(type(of: e)), not a CheckpointError: \(e)")
            }
        default:  // accept-or-reject, byteswap-or-reject: never crash; if accepted, values decode
            if case let .success(checkpoint) = result {
                for t in checkpoint.tensors { _ = try t.floats() }
            }
        }
    }

    @Test func forbiddenGlobalIsNamed() {
        do {
            _ = try Checkpoint.open(Fixtures.path("hostile/pt_global_os_system.bin"))
            Issue.record("accepted")
        } catch let e as CheckpointError {
            #expect(e.code == .forbiddenGlobal("os.system"))
        } catch {
            Issue.record("\(error)")
        }
    }
}
