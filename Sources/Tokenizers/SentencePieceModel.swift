import Foundation

/// The parts of a SentencePiece `tokenizer.model` (a `ModelProto` protobuf) that a BPE model
/// needs: the pieces with their scores and types, the model type, byte fallback, the special
/// ids and the dummy-prefix setting. Read with a bounds-checked reader; anything malformed is a
/// `TokenizerError`, never a crash.
struct SentencePieceModel {
    enum PieceType: Int {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    struct Piece {
        var text: String
        var score: Float
        var type: PieceType
    }

    var pieces: [Piece] = []
    /// 1 unigram, 2 BPE (TrainerSpec.model_type).
    var modelType = 1
    var byteFallback = false
    var unknownID = 0
    var bosID = 1
    var eosID = 2
    var addDummyPrefix = true
    var removeExtraWhitespaces = true

    init(data: [UInt8]) throws {
        var top = ProtoReader(data)
        while let (field, wire) = try top.key() {
            switch (field, wire) {
            case (1, 2):
                var p = ProtoReader(try top.bytes())
                var piece = Piece(text: "", score: 0, type: .normal)
                while let (f, w) = try p.key() {
                    switch (f, w) {
                    case (1, 2): piece.text = String(decoding: try p.bytes(), as: UTF8.self)
                    case (2, 5): piece.score = Float(bitPattern: try p.fixed32())
                    case (3, 0): piece.type = PieceType(rawValue: Int(try p.varint())) ?? .normal
                    default: try p.skip(w)
                    }
                }
                pieces.append(piece)
            case (2, 2):
                var t = ProtoReader(try top.bytes())
                while let (f, w) = try t.key() {
                    switch (f, w) {
                    case (3, 0): modelType = Int(try t.varint())
                    case (35, 0): byteFallback = try t.varint() != 0
                    case (40, 0): unknownID = Int(truncatingIfNeeded: Int32(truncatingIfNeeded: try t.varint()))
                    case (41, 0): bosID = Int(truncatingIfNeeded: Int32(truncatingIfNeeded: try t.varint()))
                    case (42, 0): eosID = Int(truncatingIfNeeded: Int32(truncatingIfNeeded: try t.varint()))
                    default: try t.skip(w)
                    }
                }
            case (3, 2):
                var n = ProtoReader(try top.bytes())
                while let (f, w) = try n.key() {
                    switch (f, w) {
                    case (3, 0): addDummyPrefix = try n.varint() != 0
                    case (4, 0): removeExtraWhitespaces = try n.varint() != 0
                    default: try n.skip(w)
                    }
                }
            default:
                try top.skip(wire)
            }
        }
        guard !pieces.isEmpty else { throw TokenizerError(.malformed, "tokenizer.model has no pieces") }
    }
}

/// A minimal protobuf wire-format reader over a byte array.
struct ProtoReader {
    let data: [UInt8]
    var offset = 0

    init(_ data: [UInt8]) { self.data = data }

    static func fail(_ m: String) -> TokenizerError { TokenizerError(.malformed, "tokenizer.model: \(m)") }

    mutating func varint() throws -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < data.count else { throw Self.fail("truncated varint at byte \(offset)") }
            let b = data[offset]
            offset += 1
            guard shift < 64 else { throw Self.fail("varint longer than 10 bytes at byte \(offset)") }
            value |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return value }
            shift += 7
        }
    }

    /// The next field number and wire type, or nil at the end.
    mutating func key() throws -> (Int, Int)? {
        guard offset < data.count else { return nil }
        let k = try varint()
        guard k >> 3 > 0, k >> 3 < 1 << 29 else { throw Self.fail("bad field number at byte \(offset)") }
        return (Int(k >> 3), Int(k & 7))
    }

    mutating func bytes() throws -> [UInt8] {
        let n = try varint()
        guard n <= UInt64(data.count - offset) else {
            throw Self.fail("field of \(n) bytes runs past the end (byte \(offset))")
        }
        defer { offset += Int(n) }
        return Array(data[offset..<(offset + Int(n))])
    }

    mutating func fixed32() throws -> UInt32 {
        guard data.count - offset >= 4 else { throw Self.fail("truncated fixed32 at byte \(offset)") }
        defer { offset += 4 }
        return UInt32(data[offset]) | UInt32(data[offset + 1]) << 8 | UInt32(data[offset + 2]) << 16 | UInt32(
            data[offset + 3]) << 24
    }

    mutating func skip(_ wire: Int) throws {
        switch wire {
        case 0: _ = try varint()
        case 1:
            guard data.count - offset >= 8 else { throw Self.fail("truncated fixed64 at byte \(offset)") }
            offset += 8
        case 2: _ = try bytes()
        case 5: _ = try fixed32()
        default: throw Self.fail("unsupported wire type \(wire) at byte \(offset)")
        }
    }
}

extension Tokenizer {
    /// Loads a SentencePiece BPE `tokenizer.model` (LLaMA-2's own file), for models that ship no
    /// `tokenizer.json`, into the same pipeline: SentencePiece's whitespace handling as
    /// normalizers, its BPE as merges derived from the pieces' scores (a pair merges when their
    /// concatenation is a piece, the highest-scoring first), and its decoding as a decoder chain.
    /// Text is encoded as transformers encodes it with this file: the control pieces' spellings
    /// (`<s>`, `</s>`, `<unk>`) in the text are those tokens, as chat templates write them, and
    /// the text between them is encoded by SentencePiece, each part with its own dummy prefix.
    public convenience init(sentencePieceModel data: [UInt8]) throws {
        let m = try SentencePieceModel(data: data)
        guard m.modelType == 2 else {
            let kind = m.modelType == 1 ? "unigram" : "type \(m.modelType)"
            throw TokenizerError(.unsupported, "tokenizer.model is a \(kind) model; only BPE is implemented")
        }
        var vocab: [[UInt8]: Int] = [:]
        var tokens: [Int: String] = [:]
        var specials: [AddedToken] = []
        for (id, p) in m.pieces.enumerated() {
            if vocab[Array(p.text.utf8)] == nil { vocab[Array(p.text.utf8)] = id }
            tokens[id] = p.text
            if p.type == .control || p.type == .unknown {
                specials.append(AddedToken(content: p.text, id: id, special: true, normalized: false))
            }
        }
        let mergeable = m.pieces.indices.filter { m.pieces[$0].type == .normal || m.pieces[$0].type == .userDefined }
        let order = mergeable.sorted {
            m.pieces[$0].score > m.pieces[$1].score || (m.pieces[$0].score == m.pieces[$1].score && $0 < $1)
        }
        var merges: [UInt64: (rank: Int32, id: Int32)] = [:]
        for (rank, id) in order.enumerated() {
            let scalars = Array(m.pieces[id].text.unicodeScalars)
            guard scalars.count > 1 else { continue }
            for k in 1..<scalars.count {
                guard let l = vocab[Array(AddedVocabulary.string(scalars[..<k]).utf8)],
                    let r = vocab[Array(AddedVocabulary.string(scalars[k...]).utf8)]
                else { continue }
                let key = UInt64(l) << 32 | UInt64(r)
                if merges[key] == nil { merges[key] = (Int32(rank), Int32(id)) }
            }
        }
        let valid = { (id: Int) in id >= 0 && id < m.pieces.count }
        let model = BPEModel(
            vocab: vocab, tokens: tokens, merges: merges, byteFallback: m.byteFallback, ignoreMerges: false,
            fuseUnknown: true, unknownID: valid(m.unknownID) ? m.unknownID : nil)
        let space = try Pattern(literal: " ", context: "tokenizer.model")
        let mark = try Pattern(literal: "\u{2581}", context: "tokenizer.model")
        var normalizers: [Normalizer] = m.removeExtraWhitespaces ? [.collapseSpaces] : []
        if m.addDummyPrefix { normalizers.append(.prepend("\u{2581}")) }
        normalizers.append(.replace(space, "\u{2581}"))
        var decoders: [Decoder] = [.replace(mark, " "), .byteFallback, .fuse]
        if m.addDummyPrefix { decoders.append(.strip(content: " ", start: 1, stop: 0)) }
        self.init(
            normalizer: .sequence(normalizers), preTokenizer: nil, model: model, added: specials,
            specialPrefix: valid(m.bosID) ? [m.bosID] : [], specialSuffix: [], decoder: .sequence(decoders))
    }
}
