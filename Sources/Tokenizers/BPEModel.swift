import Foundation
import StrictJSON

/// The BPE model of the HF `tokenizers` library: a piece's characters (Unicode scalars) become
/// vocabulary ids, then the adjacent pair with the lowest merge rank is merged, leftmost first,
/// until no pair merges. SentencePiece's BPE (`tokenizer.model`) is the same algorithm with the
/// merge table derived from the pieces' scores.
///
/// Vocabulary keys are compared as UTF-8 bytes, never as Swift `String`s (which compare by
/// canonical equivalence, so `"é"` and `"e\u{301}"` would be one key).
final class BPEModel: @unchecked Sendable {
    let vocab: [[UInt8]: Int]
    let tokens: [Int: String]
    /// `(left << 32 | right)` → (rank, merged id).
    let merges: [UInt64: (rank: Int32, id: Int32)]
    let byteFallback: Bool
    let ignoreMerges: Bool
    let fuseUnknown: Bool
    let unknownID: Int?
    let prefix: String
    let suffix: String
    /// Ids of `<0x00>`…`<0xFF>` when the vocabulary has them all.
    let byteIDs: [Int]?
    // Immutable after init except the word cache, which `cacheLock` guards.
    private var cache: [[UInt8]: [Int]] = [:]
    private let cacheLock = NSLock()

    init(
        vocab: [[UInt8]: Int], tokens: [Int: String], merges: [UInt64: (rank: Int32, id: Int32)],
        byteFallback: Bool, ignoreMerges: Bool, fuseUnknown: Bool, unknownID: Int?, prefix: String = "",
        suffix: String = ""
    ) {
        self.vocab = vocab
        self.tokens = tokens
        self.merges = merges
        self.byteFallback = byteFallback
        self.ignoreMerges = ignoreMerges
        self.fuseUnknown = fuseUnknown
        self.unknownID = unknownID
        self.prefix = prefix
        self.suffix = suffix
        let bytes = (0..<256).map { vocab[Array(String(format: "<0x%02X>", $0).utf8)] }
        byteIDs = bytes.allSatisfy { $0 != nil } ? bytes.map { $0! } : nil
    }

    /// The `model` object of a `tokenizer.json` (type BPE).
    convenience init(json model: JSONValue) throws {
        guard let vocabObject = model["vocab"]?.objectMembers else {
            throw TokenizerError(.malformed, "model: BPE has no \"vocab\" object")
        }
        var vocab: [[UInt8]: Int] = [:]
        var tokens: [Int: String] = [:]
        vocab.reserveCapacity(vocabObject.count)
        for (k, v) in vocabObject {
            guard let id = v.intValue, id >= 0, id < Int(Int32.max) else {
                throw TokenizerError(
                    .malformed, "model.vocab: the id of \(k.debugDescription) is not an integer in 0..<2^31")
            }
            vocab[Array(k.utf8)] = id
            tokens[id] = k
        }
        // With a continuing-subword prefix, the right half's prefix is dropped from the merged token.
        let subwordPrefix = Array((model["continuing_subword_prefix"]?.stringValue ?? "").utf8)
        var merges: [UInt64: (rank: Int32, id: Int32)] = [:]
        for (rank, m) in (model["merges"]?.arrayValue ?? []).enumerated() {
            let a: Substring
            let b: Substring
            if let s = m.stringValue, let space = s.firstIndex(of: " ") {
                a = s[..<space]
                b = s[s.index(after: space)...]
            } else if let pair = m.arrayValue, pair.count == 2, let x = pair[0].stringValue, let y = pair[1].stringValue
            {
                a = Substring(x)
                b = Substring(y)
            } else {
                throw TokenizerError(.malformed, "model.merges[\(rank)] is neither \"a b\" nor [a, b]")
            }
            var right = Array(b.utf8)
            if !subwordPrefix.isEmpty, right.starts(with: subwordPrefix) { right.removeFirst(subwordPrefix.count) }
            guard let ia = vocab[Array(a.utf8)], let ib = vocab[Array(b.utf8)],
                let merged = vocab[Array(a.utf8) + right]
            else {
                throw TokenizerError(.malformed, "model.merges[\(rank)]: \(a) \(b) is not made of vocabulary tokens")
            }
            let key = UInt64(ia) << 32 | UInt64(ib)
            if merges[key] == nil { merges[key] = (Int32(rank), Int32(merged)) }
        }
        let unknown = model["unk_token"]?.stringValue
        self.init(
            vocab: vocab, tokens: tokens, merges: merges, byteFallback: model["byte_fallback"]?.boolValue ?? false,
            ignoreMerges: model["ignore_merges"]?.boolValue ?? false,
            fuseUnknown: model["fuse_unk"]?.boolValue ?? false,
            unknownID: unknown.flatMap { vocab[Array($0.utf8)] },
            prefix: model["continuing_subword_prefix"]?.stringValue ?? "",
            suffix: model["end_of_word_suffix"]?.stringValue ?? "")
    }

    func id(of token: String) -> Int? { vocab[Array(token.utf8)] }

    /// Ids of one pre-tokenized piece.
    func tokenize(_ piece: String) -> [Int] {
        let key = Array(piece.utf8)
        if key.isEmpty { return [] }
        if ignoreMerges, let id = vocab[key] { return [id] }
        cacheLock.lock()
        let hit = cache[key]
        cacheLock.unlock()
        if let hit { return hit }
        var symbols = initialSymbols(piece)
        merge(&symbols)
        cacheLock.lock()
        if cache.count < 100_000 { cache[key] = symbols }
        cacheLock.unlock()
        return symbols
    }

    /// The characters as ids: unknown characters become byte tokens (`byte_fallback`) or the
    /// unknown token (runs fused with `fuse_unk`), or are dropped when the model has neither.
    private func initialSymbols(_ piece: String) -> [Int] {
        var out: [Int] = []
        var lastWasUnknown = false
        let scalars = Array(piece.unicodeScalars)
        for (i, c) in scalars.enumerated() {
            var s = String(c)
            if i > 0 && !prefix.isEmpty { s = prefix + s }
            if i == scalars.count - 1 && !suffix.isEmpty { s += suffix }
            let bytes = Array(s.utf8)
            if let id = vocab[bytes] {
                out.append(id)
                lastWasUnknown = false
            } else if byteFallback, let byteIDs {
                out += bytes.map { byteIDs[Int($0)] }
                lastWasUnknown = false
            } else if let unknownID {
                if !(fuseUnknown && lastWasUnknown) { out.append(unknownID) }
                lastWasUnknown = true
            }
        }
        return out
    }

    /// Merges the lowest-ranked adjacent pair, leftmost first, until none merges. Short words scan
    /// for the best pair each round; long ones (a pasted blob without spaces) use a heap over a
    /// linked list, as the library does, so that a word of n symbols costs n log n, not n².
    func merge(_ symbols: inout [Int]) {
        if symbols.count > 48 { mergeWithHeap(&symbols) } else { mergeByScan(&symbols) }
    }

    func mergeByScan(_ symbols: inout [Int]) {
        while symbols.count > 1 {
            var best = -1
            var bestRank = Int32.max
            var bestID: Int32 = 0
            for k in 0..<(symbols.count - 1) {
                if let m = merges[UInt64(symbols[k]) << 32 | UInt64(symbols[k + 1])], m.rank < bestRank {
                    bestRank = m.rank
                    bestID = m.id
                    best = k
                }
            }
            if best < 0 { return }
            symbols[best] = Int(bestID)
            symbols.remove(at: best + 1)
        }
    }

    func mergeWithHeap(_ symbols: inout [Int]) {
        let n = symbols.count
        var ids = symbols
        var next = Array(1...n)  // n: none
        var previous = Array(-1..<(n - 1))
        var alive = [Bool](repeating: true, count: n)
        // Candidates (rank, position, left id, right id); stale ones are skipped when popped.
        var heap = MinHeap()
        func push(_ i: Int) {
            guard i >= 0, i < n, alive[i], next[i] < n,
                let m = merges[UInt64(ids[i]) << 32 | UInt64(ids[next[i]])]
            else { return }
            heap.push(.init(rank: m.rank, position: i, left: ids[i], right: ids[next[i]]))
        }
        for i in 0..<(n - 1) { push(i) }
        while let c = heap.pop() {
            let i = c.position
            guard alive[i], next[i] < n, ids[i] == c.left, ids[next[i]] == c.right,
                let m = merges[UInt64(c.left) << 32 | UInt64(c.right)]
            else { continue }
            let j = next[i]
            ids[i] = Int(m.id)
            alive[j] = false
            next[i] = next[j]
            if next[j] < n { previous[next[j]] = i }
            push(previous[i])
            push(i)
        }
        symbols = (0..<n).filter { alive[$0] }.map { ids[$0] }
    }
}

/// A binary min-heap of merge candidates ordered by (rank, position).
struct MinHeap {
    struct Candidate {
        var rank: Int32
        var position: Int
        var left: Int
        var right: Int

        func precedes(_ o: Candidate) -> Bool { rank != o.rank ? rank < o.rank : position < o.position }
    }

    private var items: [Candidate] = []

    mutating func push(_ c: Candidate) {
        items.append(c)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i].precedes(items[parent]) else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Candidate? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1
                let r = l + 1
                var m = i
                if l < items.count, items[l].precedes(items[m]) { m = l }
                if r < items.count, items[r].precedes(items[m]) { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return top
    }
}
