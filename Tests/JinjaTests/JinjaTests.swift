import Jinja
import Platform
import StrictJSON
import Testing
import TestSupport

/// One Jinja feature per case against jinja2 in the environment transformers compiles chat
/// templates in (`Scripts/gen_template_refs.py` → `refs/jinja_features.json`): the same text, or
/// an error of the same kind (a `raise_exception` message word for word).
@Suite struct JinjaFeatureTests {
    static let cases = (try? Fixtures.json("refs/jinja_features.json")["cases"]?.arrayValue) ?? []

    @Test func referenceIsPresent() {
        #expect(Self.cases.count >= 60)
    }

    @Test(arguments: cases.compactMap { $0["name"]?.stringValue })
    func rendersLikeJinja2(_ name: String) throws {
        let c = try #require(Self.cases.first { $0["name"]?.stringValue == name })
        let source = try #require(c["template"]?.stringValue)
        var context: [String: Value] = [:]
        for (k, v) in c["context"]?.objectMembers ?? [] { context[k] = Value(json: v) }
        let result = Result { try Template(source).render(context) }
        if let expected = c["text"]?.stringValue {
            let text = try result.get()
            #expect(Array(text.unicodeScalars) == Array(expected.unicodeScalars), "\(name): \(text.debugDescription)")
            return
        }
        guard case let .failure(error) = result, let e = error as? JinjaError else {
            Issue.record("\(name): expected \(c["error"]?.stringValue ?? "") but rendered \((try? result.get()) ?? "")")
            return
        }
        switch c["error"]?.stringValue {
        case "TemplateError":
            #expect(e.code == .raised)
            #expect(e.message == c["message"]?.stringValue)
        case "TemplateSyntaxError": #expect(e.code == .syntax, "\(name): \(e)")
        default: #expect(e.code == .runtime, "\(name): \(e)")
        }
    }
}
