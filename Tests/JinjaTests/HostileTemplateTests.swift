import Jinja
import Platform
import StrictJSON
import Testing
import TestSupport

/// A chat template comes from a model repository: untrusted. Whatever it says, rendering ends in
/// text or a `JinjaError`, quickly, never a crash, a hang or unbounded memory.
@Suite struct HostileTemplateTests {
    static func outcome(_ source: String, _ context: [String: Value] = [:]) -> Result<String, JinjaError>? {
        do {
            return .success(try Template(source).render(context))
        } catch let e as JinjaError {
            return .failure(e)
        } catch {
            return nil  // any other error is a bug
        }
    }

    @Test func nestingIsBounded() {
        let cases = [
            "{{ " + String(repeating: "(", count: 20_000) + "1" + String(repeating: ")", count: 20_000) + " }}",
            "{{ " + String(repeating: "[", count: 20_000) + " }}",
            "{{ 1" + String(repeating: " + 1", count: 20_000) + " }}",
            "{{ x" + String(repeating: ".a", count: 20_000) + " }}",
            "{{ x" + String(repeating: "|trim", count: 20_000) + " }}",
            "{{ " + String(repeating: "not ", count: 20_000) + "x }}",
            "{{ " + String(repeating: "-", count: 20_000) + "1 }}",
            String(repeating: "{% if true %}", count: 5_000) + String(repeating: "{% endif %}", count: 5_000),
        ]
        for source in cases {
            guard case let .failure(e)? = Self.outcome(source) else {
                Issue.record("\(source.prefix(30))… did not fail as a syntax error")
                continue
            }
            #expect(e.code == .syntax, "\(e)")
        }
    }

    @Test func workAndOutputAreBounded() {
        let cases = [
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
            "{{ 'x' * 1000000000 }}",
            "{{ [1] * 1000000000 }}",
            "{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
            "{% for i in range(100000) %}{{ 'y' * 1000 }}{% endfor %}",
            "{{ range(1000000000) }}",
        ]
        for source in cases {
            guard case let .failure(e)? = Self.outcome(source) else {
                Issue.record("\(source) did not fail")
                continue
            }
            #expect(e.code == .runtime, "\(e)")
        }
    }

    /// Seeded random damage to the real templates: every variant renders or fails with a
    /// `JinjaError`.
    @Test func damagedRealTemplatesNeverCrash() throws {
        let refs = try Fixtures.json("refs/chat_templates.json")
        let sources = (refs["templates"]?.objectMembers ?? []).compactMap { $0.1["template"]?.stringValue }
        #expect(sources.count >= 6)
        let messages: Value = .list([
            .dict(.init([("role", .string("system")), ("content", .string("s"))])),
            .dict(.init([("role", .string("user")), ("content", .string("u"))])),
        ])
        let fragments = [
            "{{", "}}", "{%", "%}", "{#", "'", "\"", "(", ")", "[", "]", "|", ".", "-", "endif", "for", " ",
        ]
        var rng = SeededGenerator(seed: 11)
        var rendered = 0
        for _ in 0..<600 {
            var s = Array(sources.randomElement(using: &rng)!.unicodeScalars)
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let at = Int.random(in: 0...s.count, using: &rng)
                if Bool.random(using: &rng), at < s.count {
                    s.removeSubrange(at..<min(s.count, at + Int.random(in: 1...6, using: &rng)))
                } else {
                    s.insert(contentsOf: fragments.randomElement(using: &rng)!.unicodeScalars, at: at)
                }
            }
            let source = String(String.UnicodeScalarView(s))
            let r = Self.outcome(
                source, ["messages": messages, "add_generation_prompt": .bool(true), "bos_token": .string("<s>")])
            #expect(r != nil, "not a JinjaError: \(source.debugDescription)")
            if case .success? = r { rendered += 1 }
        }
        #expect(rendered > 0)
    }
}
