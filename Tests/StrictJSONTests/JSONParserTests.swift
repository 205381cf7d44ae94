import StrictJSON
import Testing

@Suite struct JSONParserTests {
    let parser = JSONParser()

    @Test func integersAreExactBeyondDoublePrecision() throws {
        let v = try parser.parse("{\"a\": 18446744073709551615, \"b\": 9007199254740993, \"c\": -2, \"d\": 2.0}")
        #expect(v["a"]?.uint64Value == UInt64.max)
        #expect(v["b"]?.uint64Value == 9_007_199_254_740_993)
        #expect(v["c"]?.uint64Value == nil && v["c"]?.int64Value == -2)
        #expect(v["d"]?.uint64Value == nil && v["d"]?.doubleValue == 2)
    }

    @Test func duplicateKeysAreRejected() {
        #expect(throws: JSONError.self) { try parser.parse("{\"w\": 1, \"w\": 1}") }
        #expect(throws: JSONError.self) { try parser.parse("{\"a\": {\"x\": 1, \"x\": 2}}") }
    }

    /// Keys are compared as bytes: canonically equivalent spellings (U+1F77 and U+03AF, both
    /// tokens of LLaMA-2's vocabulary) are two keys, not a duplicate.
    @Test func canonicallyEquivalentKeysAreDistinct() throws {
        let doc = try parser.parse("{\"\u{1F77}\": 1, \"\u{03AF}\": 2}")
        #expect(doc.objectMembers?.count == 2)
    }

    @Test(arguments: ["", "{", "[1,]", "{\"a\" 1}", "01", "1.", "-", "\"\\x\"", "\"\u{01}\"", "{} {}", "nul", "[1 2]"])
    func malformedInputIsRejected(_ text: String) {
        #expect(throws: JSONError.self) { try parser.parse(text) }
    }

    @Test func invalidUTF8IsRejected() {
        for bad: [UInt8] in [
            [0x22, 0xFF, 0x22], [0x22, 0xC0, 0x80, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xE2, 0x82, 0x22],
        ] {
            #expect(throws: JSONError.self) { try parser.parse(bad) }
        }
        #expect(throws: JSONError.self) { try parser.parse("\"\\ud800\"") }
    }

    @Test func nestingIsBounded() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONError.self) { try JSONParser(maxDepth: 64).parse(deep) }
        #expect(throws: Never.self) {
            try JSONParser(maxDepth: 64).parse(String(repeating: "[", count: 64) + String(repeating: "]", count: 64))
        }
    }

    @Test func whitespaceAroundTheValueIsAllowed() throws {
        #expect(try parser.parse(" \n\t{\"a\":[]}   ") == .object([("a", .array([]))]))
    }

    @Test func stringsAndEscapesRoundTrip() throws {
        let text = "{\"s\":\"a\\\"b\\\\c\\n\\u00e9\\ud83d\\ude00\\u0000\",\"n\":null,\"t\":true,\"x\":[1,2.5e-3]}"
        let v = try parser.parse(text)
        #expect(v["s"]?.stringValue == "a\"b\\c\né😀\u{0}")
        let again = try parser.parse(v.serialized())
        #expect(again == v)
        #expect(v.serialized(pretty: true).contains("\n"))
    }

    @Test func sortedSerializationIsByteOrdered() {
        let v = JSONValue.object([("b", .int(1)), ("a", .int(2)), ("B", .int(3))])
        #expect(v.serialized(sortKeys: true) == "{\"B\":3,\"a\":2,\"b\":1}")
    }
}
