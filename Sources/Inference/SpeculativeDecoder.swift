import Foundation
import Platform

/// EAGLE-2 dynamic-tree settings (HASS's names): `topK` children per node, `depth` + 1 draft
/// levels, `totalTokens` tree nodes including the root. The engine owns this type; a manifest's
/// trees map onto it where a pair meets the engine (the `Pairs` module).
public struct TreeSettings: Sendable, Equatable, CustomStringConvertible {
    public var topK: Int
    /// Draft levels − 1, as HASS and EAGLE count it.
    public var depth: Int
    /// Tree nodes including the root.
    public var totalTokens: Int

    public init(topK: Int, depth: Int, totalTokens: Int) {
        self.topK = topK
        self.depth = depth
        self.totalTokens = totalTokens
    }

    /// HASS's published GPU tree (top-k 10, depth 5 = 6 levels, 60 nodes).
    public static let published = TreeSettings(topK: 10, depth: 5, totalTokens: 60)

    public var description: String { "\(totalTokens)/\(depth)/\(topK)" }
}

/// A draft tree: node 0 is the root; parents precede children.
public struct DraftTree: Sendable, Equatable {
    public var tokens: [Int]
    /// Parent node of each node (-1 for the root).
    public var parents: [Int]
    /// Depth of each node (the root is 0).
    public var depths: [Int]
    /// Root-to-leaf node paths, leaves in increasing node order.
    public var paths: [[Int]]

    /// Nodes on the way from the root to `node`, both included.
    public func ancestors(_ node: Int) -> [Int] {
        var out: [Int] = []
        var n = node
        while n >= 0 {
            out.append(n)
            n = parents[n]
        }
        return out.reversed()
    }
}

/// Greedy (temperature 0) speculative decoding with an EAGLE-1/HASS head and the EAGLE-2
/// dynamic tree, as HASS's `eagenerate` does it (hass-spec §3): draft a tree, verify every node
/// in one pass of the base, accept the longest path the base agrees with, keep the base's token
/// after it. The output equals plain greedy decoding of the base.
public final class SpeculativeDecoder {
    public let base: any CausalModel
    public let head: any FeatureDraft
    public var settings: TreeSettings

    /// What a run did.
    public struct Result: Sendable {
        public var tokens: [Int]
        /// Draft tokens accepted per base verification pass (0…depth+1, the root not counted).
        public var acceptLengths: [Int]
        /// Verification passes of the base (one per tree).
        public var basePasses: Int { acceptLengths.count }
        /// τ: tokens committed per base pass, the bonus token included.
        public var tau: Double {
            acceptLengths.isEmpty
                ? 0 : Double(acceptLengths.reduce(0, +) + acceptLengths.count) / Double(acceptLengths.count)
        }
        /// The first tree, for inspection and tests.
        public var firstTree: DraftTree?
        /// Seconds from the call to the first token (the prompt pass), so that a rate over the
        /// rest compares with plain decoding's, which is timed from its first token too.
        public var prefillSeconds: Double = 0
    }

    public init(base: any CausalModel, head: any FeatureDraft, settings: TreeSettings) {
        self.base = base
        self.head = head
        self.settings = settings
    }

    static func logSoftmax(_ v: [Float]) -> [Float] {
        let m = v.max() ?? 0
        var s: Float = 0
        for x in v { s += exp(x - m) }
        let l = m + log(s)
        return v.map { $0 - l }
    }

    /// Indices of the `k` largest values, largest first; ties go to the lower index.
    /// One pass keeping the best k in order (k is a tree's top-k, ≤ 10: a full sort of a 32k–150k
    /// vocabulary took an eighth of a wide tree's time). NaN never enters the list.
    static func topK(_ v: [Float], _ k: Int) -> [Int] {
        guard k > 0 else { return [] }
        var best: [Int] = []
        best.reserveCapacity(k + 1)
        for i in v.indices {
            let x = v[i]
            if best.count == k, !(x > v[best[k - 1]]) { continue }  // ties keep the lower index
            var at = best.count
            while at > 0, x > v[best[at - 1]] { at -= 1 }
            if at < k, !x.isNaN {
                best.insert(i, at: at)
                if best.count > k { best.removeLast() }
            }
        }
        return best
    }

    /// Generates at least `maxNewTokens` tokens after `prompt` (returns exactly that many).
    /// Generates up to `maxNewTokens` tokens, ending early after the first token in `stopTokens`
    /// (the output includes it, as plain greedy decoding with the same stop rule would).
    ///
    /// At `sampling.temperature` > 0 each step accepts by recursive rejection sampling over the
    /// siblings (hass-spec §3.5), so the output is distributed exactly as sampling the base alone.
    public func generate(
        prompt: [Int], maxNewTokens: Int, stopTokens: Set<Int> = [], sampling: Sampling = .greedy
    ) -> Result {
        generate(prompt: prompt, maxNewTokens: maxNewTokens, stopTokens: stopTokens, sampling: sampling) { _, _ in }
    }

    /// `generate`, calling `afterStep` with the base's cache and the output so far after every
    /// verification step (the tests compare that cache with a fresh prefill).
    func generate(
        prompt: [Int], maxNewTokens: Int, stopTokens: Set<Int>, sampling: Sampling = .greedy,
        afterStep: (KVCache, [Int]) -> Void
    ) -> Result {
        precondition(!prompt.isEmpty)
        let start = DispatchTime.now().uptimeNanoseconds
        let cache = base.makeCache()
        let prefill = base.prefill(tokens: prompt, cache: cache)
        let hidden = prefill.hidden
        var rng = SeededGenerator(seed: sampling.seed)
        func choose(_ logits: [Float]) -> Int {
            sampling.isGreedy ? argmax(logits) : rng.pick(sampling.distribution(logits))
        }
        var root = choose(prefill.logits)
        let draftCache = head.makeCache()
        // Pairs (feature f_t, token x_{t+1}) not yet in the draft's stable cache.
        var pendingFeatures = hidden
        var pendingTokens = Array(prompt.dropFirst()) + [root]
        var output: [Int] = []
        var result = Result(tokens: [], acceptLengths: [], firstTree: nil)
        result.prefillSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        while output.count < maxNewTokens {
            let tree = draft(features: pendingFeatures, tokens: pendingTokens, root: root, cache: draftCache)
            if result.firstTree == nil { result.firstTree = tree }
            // Verify every node in one pass over the tree (each sees the context and its ancestors).
            let committed = cache.count
            let verified = base.forward(
                tokens: tree.tokens, cache: cache, positions: tree.depths.map { committed + $0 },
                visible: tree.tokens.indices.map { Array(0..<committed) + tree.ancestors($0).map { committed + $0 } })
            let nodeHidden = verified.hidden
            let nodeLogits = verified.logits
            let kept: [Int], next: Int
            if sampling.isGreedy {
                kept = Self.acceptGreedy(tree: tree, logits: nodeLogits)
                next = argmax(nodeLogits[kept.last ?? 0])
            } else {
                (kept, next) = Self.acceptSampled(
                    tree: tree, target: { sampling.distribution(nodeLogits[$0]) }, rng: &rng)
            }
            let accepted = kept.count - 1
            cache.compact(from: committed, keeping: kept)
            output += kept.map { tree.tokens[$0] }
            result.acceptLengths.append(accepted)
            afterStep(cache, output)
            if let stop = output.suffix(kept.count).firstIndex(where: stopTokens.contains) {
                output.removeSubrange((stop + 1)...)
                break
            }
            root = next
            pendingFeatures = kept.map { nodeHidden[$0] }
            pendingTokens = Array(kept.dropFirst().map { tree.tokens[$0] }) + [root]
        }
        result.tokens = Array(output.prefix(maxNewTokens))
        return result
    }

    /// Greedy acceptance (hass-spec §3.4): the longest root path whose every token is the base's
    /// argmax after its parent; the first such path on ties. Returns its nodes, root included.
    static func acceptGreedy(tree: DraftTree, logits: [[Float]]) -> [Int] {
        var bestPath = tree.paths.first ?? [0]
        var accepted = 0
        for path in tree.paths {
            var n = 0
            while n + 1 < path.count, path[n + 1] >= 0, tree.tokens[path[n + 1]] == argmax(logits[path[n]]) { n += 1 }
            if n > accepted {
                accepted = n
                bestPath = path
            }
        }
        return Array(bestPath.prefix(accepted + 1))
    }

    /// Lossless acceptance at T > 0 (hass-spec §3.5, with EAGLE's fix of warping the final
    /// distribution): from the root, try the children in node order (descending draft score),
    /// each accepted with probability p(x) under the base's distribution `target(node)`; a
    /// rejected token's mass is removed and p renormalised before the next sibling. When no child
    /// is accepted the next token is drawn from what remains of p. The draft is deterministic
    /// (q = δ), so every emitted token is distributed exactly as p.
    static func acceptSampled(
        tree: DraftTree, target: (Int) -> [Double], rng: inout SeededGenerator
    ) -> (kept: [Int], next: Int) {
        var kept = [0]
        var current = 0
        var p = target(0)
        while true {
            var tried = Set<Int>()
            var acceptedChild: Int?
            for child in tree.parents.indices where tree.parents[child] == current {
                let x = tree.tokens[child]
                guard tried.insert(x).inserted else { continue }
                if rng.unit() < p[x] {
                    acceptedChild = child
                    break
                }
                p[x] = 0
                let total = p.reduce(0, +)
                guard total > 0 else { break }
                for i in p.indices { p[i] /= total }
            }
            guard let child = acceptedChild else { return (kept, rng.pick(p)) }
            kept.append(child)
            current = child
            p = target(child)
        }
    }

    /// EAGLE-2 tree construction (`topK_genrate`, hass-spec §3.2).
    func draft(features: [[Float]], tokens: [Int], root: Int, cache: KVCache) -> DraftTree {
        let k = settings.topK, depth = settings.depth, budget = settings.totalTokens - 1
        // (a) Catch up the stable draft context with the new pairs.
        let (lastOut, lastLogits) = head.extend(features: features, tokens: tokens, cache: cache)
        let stable = cache.count
        defer { cache.truncate(to: stable) }
        // (b) Level 1.
        let lp = Self.logSoftmax(lastLogits)
        let first = Self.topK(lp, k)
        var poolTokens = first
        var poolScores = first.map { lp[$0] }
        var poolParents = [Int](repeating: 0, count: k)  // pool index + 1, 0 = root
        // Beams: pool index, feature in, token, draft-cache slots of its ancestors (itself later).
        var beams: [(pool: Int, feature: [Float], token: Int, ancestors: [Int])] = first.indices.map { (i: Int) in
            (i, lastOut, first[i], [])
        }
        for level in 0..<depth {
            let first = cache.count
            let slots = Array(first..<(first + beams.count))
            let step = head.forward(
                features: beams.map(\.feature), tokens: beams.map(\.token), cache: cache,
                positions: Array(repeating: stable + level, count: beams.count),
                visible: beams.indices.map { Array(0..<stable) + beams[$0].ancestors + [slots[$0]] })
            let outs = step.features
            let childLP = step.logits.map(Self.logSoftmax)
            var cu: [Float] = []
            var childTokens: [Int] = []
            for (b, beam) in beams.enumerated() {
                let children = Self.topK(childLP[b], k)
                for c in children {
                    cu.append(poolScores[beam.pool] + childLP[b][c])
                    childTokens.append(c)
                }
            }
            let blockStart = poolTokens.count
            for (i, _) in cu.enumerated() {
                poolTokens.append(childTokens[i])
                poolScores.append(cu[i])
                poolParents.append(beams[i / k].pool + 1)
            }
            let chosen = Self.topK(cu, k)
            beams = chosen.map { flat in
                let parent = flat / k
                return (blockStart + flat, outs[parent], childTokens[flat], beams[parent].ancestors + [slots[parent]])
            }
        }
        // (d) The best `budget` pool entries, in pool order, become nodes 1…budget.
        var selected = Self.topK(poolScores, min(budget, poolScores.count)).sorted()
        // Every node's parent must be in the tree; drop any whose ancestor fell out (ties).
        var inTree = Set(selected)
        var changed = true
        while changed {
            changed = false
            for s in selected where poolParents[s] > 0 && !inTree.contains(poolParents[s] - 1) {
                inTree.remove(s)
                changed = true
            }
            selected = selected.filter { inTree.contains($0) }
        }
        var nodeOf: [Int: Int] = [:]
        for (i, s) in selected.enumerated() { nodeOf[s] = i + 1 }
        var treeTokens = [root]
        var parents = [-1]
        var depths = [0]
        for s in selected {
            let p = poolParents[s] == 0 ? 0 : nodeOf[poolParents[s] - 1] ?? 0
            treeTokens.append(poolTokens[s])
            parents.append(p)
            depths.append(depths[p] + 1)
        }
        let parentSet = Set(parents.filter { $0 >= 0 })
        var paths: [[Int]] = []
        for node in treeTokens.indices where !parentSet.contains(node) {
            var path: [Int] = []
            var n = node
            while n >= 0 {
                path.append(n)
                n = parents[n]
            }
            paths.append(path.reversed())
        }
        if paths.isEmpty { paths = [[0]] }
        return DraftTree(tokens: treeTokens, parents: parents, depths: depths, paths: paths)
    }
}
