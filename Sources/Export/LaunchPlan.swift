/// The commands that serve an exported pair, one per node, with the tree mapped to the
/// engine's flags (handoff.md §2.4, §3.3, §4.4, §5).
public struct LaunchPlan: Sendable {
    public var engine: Engine
    public var kind: String
    public var base: String
    public var draft: String
    public var dtype: String
    public var tree: ExportTree
    public var nodes: Int
    public var gpusPerNode: Int

    public var tensorParallel: Int { nodes * gpusPerNode }

    /// SGLang draws one tree level per draft step: HASS's depth 5 (6 levels) is 6 steps.
    public var sglangSteps: Int { kind == "deepseek-mtp" ? 3 : tree.depth + 1 }
    public var sglangTopK: Int { kind == "deepseek-mtp" ? 1 : tree.topK }
    public var sglangDraftTokens: Int { kind == "deepseek-mtp" ? 4 : tree.totalTokens }
    /// vLLM drafts a chain: at most depth + 1 tokens, 5 by default for heads, 1 for the MTP layer.
    public var vllmTokens: Int { kind == "deepseek-mtp" ? 1 : min(5, tree.depth + 1) }

    /// One command per node (for vLLM over Ray: the Ray start lines, then the serve line).
    public var commands: [String] {
        switch engine {
        case .sglang:
            return (0..<nodes).map { rank in
                var c = "python3 -m sglang.launch_server --model-path \(base)"
                if kind == "deepseek-mtp" { c += " --trust-remote-code" }
                c += " --tp \(tensorParallel)"
                if nodes > 1 {
                    c +=
                        " --nnodes \(nodes) --node-rank \(rank) --dist-init-addr ${HEAD_ADDR:?set HEAD_ADDR to node 0's address}:5000"
                }
                c += " --speculative-algorithm EAGLE --speculative-draft-model-path \(draft)"
                c +=
                    " --speculative-num-steps \(sglangSteps) --speculative-eagle-topk \(sglangTopK) --speculative-num-draft-tokens \(sglangDraftTokens)"
                c += kind == "deepseek-mtp" ? " --max-running-requests 1 --cuda-graph-max-bs 1" : " --dtype \(dtype)"
                return c
            }
        case .vllm:
            let method = kind == "deepseek-mtp" ? "mtp" : "eagle"
            let spec = "'{\"method\":\"\(method)\",\"model\":\"\(draft)\",\"num_speculative_tokens\":\(vllmTokens)}'"
            var serve = "vllm serve \(base)"
            if kind == "deepseek-mtp" { serve += " --trust-remote-code" }
            serve += " --tensor-parallel-size \(tensorParallel) --dtype \(dtype)"
            if nodes > 1 { serve += " --distributed-executor-backend ray" }
            serve += " --speculative-config \(spec)"
            guard nodes > 1 else { return [serve] }
            return ["ray start --head --port 6379 && " + serve]
                + (1..<nodes).map { _ in
                    "ray start --block --address=${HEAD_ADDR:?set HEAD_ADDR to node 0's address}:6379"
                }
        }
    }

    public var warnings: [String] {
        var w: [String] = []
        if kind == "deepseek-mtp" {
            w.append(
                "the draft path is explicit on purpose: without it the engine silently runs DeepSeek's own MTP layer, the baseline, not HASS"
            )
            if engine == .sglang {
                w.append(
                    "HASS did not publish its SGLang steps/top-k/draft tokens for R1; 3/1/4 is SGLang's DeepSeek default (tune with bench_speculative.py)"
                )
            }
        }
        if engine == .vllm && nodes > 1 {
            w.append(
                "keep --pipeline-parallel-size unset: vLLM does not combine pipeline parallelism with speculative decoding"
            )
        }
        return w
    }

    /// `launch.sh`: `NODE_RANK=r HEAD_ADDR=ip ./launch.sh` on every node.
    public var script: String {
        var s =
            "#!/usr/bin/env bash\n# Written by hasskit export: serve the pair with \(engine.rawValue) on \(nodes) node(s) × \(gpusPerNode) GPU(s).\n"
        s +=
            "# Run on every node: NODE_RANK=<0…\(nodes - 1)> HEAD_ADDR=<node 0's address> ./launch.sh\nset -euo pipefail\n"
        if nodes == 1 { return s + "exec " + commands[0] + "\n" }
        s += "case \"${NODE_RANK:?set NODE_RANK}\" in\n"
        for (rank, c) in commands.enumerated() { s += "  \(rank)) exec \(c) ;;\n" }
        return s + "  *) echo \"NODE_RANK must be 0…\(nodes - 1)\" >&2; exit 64 ;;\nesac\n"
    }

    func readme(plan: ExportPlan) -> String {
        var s = "# \(engine == .sglang ? "SGLang" : "vLLM") hand-off, written by `hasskit export`\n\n"
        s += "Draft: `\(draft)` (\(kind)). Base: `\(base)` (not copied).\n\n"
        s += "Cluster: \(nodes) node(s) × \(gpusPerNode) GPU(s), tensor parallel \(tensorParallel). "
        s +=
            engine == .sglang
            ? "Tree: \(sglangSteps) steps, top-k \(sglangTopK), \(sglangDraftTokens) draft tokens (HASS depth \(tree.depth), top-k \(tree.topK), \(tree.totalTokens) tokens).\n\n"
            : "Chain of \(vllmTokens) drafted tokens (vLLM has no dynamic tree).\n\n"
        s +=
            "## Commands\n\n"
            + commands.enumerated().map { "Node \($0.offset):\n\n```\n\($0.element)\n```\n" }.joined(separator: "\n")
        s += "\nOr on every node: `NODE_RANK=<r> HEAD_ADDR=<node 0's address> ./launch.sh`.\n\n## What was changed\n\n"
        s += plan.notes.map { "- \($0)\n" }.joined()
        if !plan.warnings.isEmpty { s += "\n## Warnings\n\n" + plan.warnings.map { "- \($0)\n" }.joined() }
        return s
    }
}
