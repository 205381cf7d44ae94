import Jinja
import Platform
import StrictJSON
import WeightFormat

/// What running a base (and its draft) on the CPU engine holds in memory, estimated from the
/// `.hkw` headers before a weight page is touched:
/// - weights: every stored tensor, used in place from the mapping (FP8 included): the bytes are
///   read on every token (a dense model multiplies by all of them), so they must stay resident or
///   each token reads the file again.
/// - KV cache: f32 keys and values for every layer at every position the run reaches (the
///   prompt, the tokens asked for, and a verified tree's nodes).
/// - scratch: the activations of the widest batch (the prompt's prefill, or a tree) and one row
///   of logits per token in flight.
public struct MemoryEstimate: Sendable, Equatable {
    public var weights: UInt64
    public var kvCache: UInt64
    public var scratch: UInt64
    /// Positions the KV cache is sized for.
    public var positions: Int

    public var total: UInt64 { weights + kvCache + scratch }

    /// - Parameters:
    ///   - positions: the longest prompt plus `--max-tokens` plus the tree's nodes.
    ///   - batch: the most tokens one forward pass takes (the longest prompt, or the tree).
    public init(base: HKWFile, draft: HKWFile?, positions: Int, batch: Int) {
        let members = [base] + (draft.map { [$0] } ?? [])
        weights = members.reduce(0) { sum, file in sum + file.tensors.reduce(0) { $0 + $1.length } }
        kvCache = members.reduce(0) { $0 + Self.kvBytesPerPosition($1) } * UInt64(max(0, positions))
        let c = base.metadata["config"]
        let hidden = UInt64(c?["hidden_size"]?.intValue ?? 0)
        let ffn = UInt64(max(c?["intermediate_size"]?.intValue ?? 0, c?["moe_intermediate_size"]?.intValue ?? 0))
        let vocab = UInt64(c?["vocab_size"]?.intValue ?? 0)
        // Per token in flight: the residual, norm, attention output and q/k/v (about 4 × hidden),
        // the gate, up and product of the MLP (3 × its width), as f32; plus logits for a tree.
        scratch = UInt64(max(1, batch)) * (4 * hidden + 3 * ffn) * 4 + UInt64(max(1, min(batch, 64))) * vocab * 4
        self.positions = positions
    }

    /// f32 key and value bytes one position adds across a model's layers.
    static func kvBytesPerPosition(_ file: HKWFile) -> UInt64 {
        let c = file.metadata["config"]
        func int(_ key: String) -> Int { c?[key]?.intValue ?? 0 }
        let selected = c?["layers"]?.arrayValue?.count
        let layers: Int
        switch file.architecture {
        case .eagleHead?, .deepseekMTP?: layers = 1
        default: layers = selected ?? int("num_layers")
        }
        let width: Int
        if file.architecture == .deepseekV3 || file.architecture == .deepseekMTP {
            width = int("num_heads") * (int("qk_nope_head_dim") + int("qk_rope_head_dim") + int("v_head_dim"))
        } else {
            width = 2 * int("num_kv_heads") * int("head_dim")
        }
        return UInt64(max(0, layers * width)) * 4
    }

    /// Refuses, with the numbers, when the estimate is more than the machine has available:
    /// the run would read its weights from disk again on every token (or be killed).
    public func requireFits(_ machine: (total: UInt64, available: UInt64)?, path: String) throws {
        guard let machine, total > machine.available else { return }
        throw CheckError(.doesNotFit(estimate: self, total: machine.total, available: machine.available), path: path)
    }

    /// "131.2 GiB (weights 130.0, KV cache 0.9 for 1,100 positions, scratch 0.3)".
    public var summary: String {
        "\(Self.gib(total)) GiB (weights \(Self.gib(weights)), KV cache \(Self.gib(kvCache)) for \(positions) positions, scratch \(Self.gib(scratch)))"
    }

    public var json: JSONValue {
        .object([
            ("weights_bytes", .int(Int(weights))), ("kv_cache_bytes", .int(Int(kvCache))),
            ("scratch_bytes", .int(Int(scratch))), ("total_bytes", .int(Int(total))), ("positions", .int(positions)),
        ])
    }

    static func gib(_ bytes: UInt64) -> String {
        let g = Double(bytes) / 1_073_741_824
        let tenths = Int((g * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
}

extension MemoryEstimate {
    /// What a `check` or `run` will ask of the engine, known before its prompts are tokenized.
    public struct Request: Sendable {
        /// Each prompt's length in tokens where known, else an upper bound (see `bound(_:)`).
        public var promptTokens: [Int]
        public var maxTokens: Int
        /// Nodes of the draft tree (0 without a draft).
        public var treeNodes: Int
        /// Run even when the estimate is more than the machine has (`--force`).
        public var force: Bool

        public init(promptTokens: [Int], maxTokens: Int, treeNodes: Int, force: Bool) {
            self.promptTokens = promptTokens
            self.maxTokens = maxTokens
            self.treeNodes = treeNodes
            self.force = force
        }

        /// A prompt's tokens are at most its UTF-8 bytes (every token of a byte-level or
        /// byte-fallback vocabulary covers at least one byte), plus what a chat template adds:
        /// 64 per message is more than any of the real templates writes.
        public static func bound(_ prompt: Prompt) -> Int {
            switch prompt {
            case let .text(text): return text.utf8.count + 64
            case let .conversation(messages): return messages.reduce(0) { $0 + textBytes($1) + 64 }
            }
        }

        /// The UTF-8 bytes of every string in a message (its content, and any tool calls).
        static func textBytes(_ v: Value) -> Int {
            switch v {
            case let .string(s): return s.utf8.count
            case let .list(items), let .tuple(items): return items.reduce(0) { $0 + textBytes($1) }
            case let .dict(d): return d.values.values.reduce(0) { $0 + textBytes($1) }
            default: return 8
            }
        }

        /// Checks the estimate against this machine (unless `force`) and returns it.
        @discardableResult
        public func require(base: HKWFile, draft: HKWFile?) throws -> MemoryEstimate {
            let longest = promptTokens.max() ?? 0
            let estimate = MemoryEstimate(
                base: base, draft: draft, positions: longest + maxTokens + treeNodes, batch: max(longest, treeNodes))
            if !force { try estimate.requireFits(FileSystem.machineMemory(), path: base.path) }
            return estimate
        }
    }
}
