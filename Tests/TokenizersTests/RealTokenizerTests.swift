import Foundation
import Platform
import StrictJSON
import Testing
import Tokenizers

/// The real Qwen2 tokenizer (151k vocabulary) against HF tokenizers. (DeepSeek-V3/R1 chains three
/// Split pre-tokenizers of other patterns; not supported yet.)
/// Their files are large (7 MB each) and not in this repository: the test runs when
/// HASSKIT_REAL_TOKENIZERS names the team's `real-tokenizers` folder, and is skipped otherwise.
@Suite struct RealTokenizerTests {
    static let folder = ProcessInfo.processInfo.environment["HASSKIT_REAL_TOKENIZERS"]

    @Test(.enabled(if: folder != nil), arguments: ["qwen2"])
    func matchesHFTokenizers(_ name: String) throws {
        let dir = try #require(Self.folder)
        let tok = try BPETokenizer(data: try FileSystem.readFile(dir + "/\(name)/tokenizer.json"))
        let refs = try JSONParser(maxDepth: 64).parse(try FileSystem.readFile(dir + "/refs_\(name).json"))
        for c in refs["cases"]?.arrayValue ?? [] {
            let text = c["text"]?.stringValue ?? ""
            #expect(
                tok.encode(text) == (c["ids"]?.arrayValue ?? []).compactMap(\.intValue),
                "\(name): \(c["name"]?.stringValue ?? "")")
            #expect(
                tok.encode(text, addSpecialTokens: true)
                    == (c["ids_with_special"]?.arrayValue ?? []).compactMap(\.intValue),
                "\(name) with specials: \(c["name"]?.stringValue ?? "")")
            #expect(
                tok.decode((c["ids"]?.arrayValue ?? []).compactMap(\.intValue)) == c["decoded"]?.stringValue,
                "\(name) decode: \(c["name"]?.stringValue ?? "")")
        }
    }
}
