import Foundation

/// The HASS/EAGLE-1 head's decoder layer in plain f32 (hass-spec §1): z = fc·[e; f] (+ b), one
/// LLaMA layer without input norm (rotate-half RoPE, causal grouped-query attention, optional
/// q/k/v/o biases, SwiGLU), for checking that an exported head computes what the original does.
/// It is tested against the outputs of HASS's own `cnets.py` on the fixture heads.
public struct HeadLayerReference {
    /// Row-major matrices and vectors by their HASS names (`fc.weight`,
    /// `layers.0.self_attn.q_proj.weight`, …); absent biases are zero.
    public var tensors: [String: [Float]]
    public var hidden: Int
    public var heads: Int
    public var kvHeads: Int
    public var intermediate: Int
    public var ropeTheta: Double
    public var rmsEps: Float

    public init(
        tensors: [String: [Float]], hidden: Int, heads: Int, kvHeads: Int, intermediate: Int, ropeTheta: Double,
        rmsEps: Float
    ) {
        self.tensors = tensors
        self.hidden = hidden
        self.heads = heads
        self.kvHeads = kvHeads
        self.intermediate = intermediate
        self.ropeTheta = ropeTheta
        self.rmsEps = rmsEps
    }

    func matvec(_ name: String, _ x: [Float], rows: Int) -> [Float] {
        let w = tensors[name] ?? []
        let cols = x.count
        var y = [Float](repeating: 0, count: rows)
        for r in 0..<rows {
            var s: Float = 0
            for c in 0..<cols { s += w[r * cols + c] * x[c] }
            y[r] = s
        }
        if let b = tensors[name.replacingOccurrences(of: ".weight", with: ".bias")] {
            for i in y.indices { y[i] += b[i] }
        }
        return y
    }

    func rope(_ v: inout [Float], heads n: Int, position: Int) {
        let d = hidden / heads, half = d / 2
        for h in 0..<n {
            for i in 0..<half {
                let angle = Double(position) / pow(ropeTheta, Double(2 * i) / Double(d))
                let c = Float(cos(angle)), s = Float(sin(angle))
                let a = v[h * d + i], b = v[h * d + i + half]
                v[h * d + i] = a * c - b * s
                v[h * d + i + half] = b * c + a * s
            }
        }
    }

    /// The layer's output features for a sequence of (token embedding, feature) pairs at
    /// positions 0, 1, 2, … (causal attention over the sequence).
    public func forward(embeddings: [[Float]], features: [[Float]]) -> [[Float]] {
        let d = hidden / heads, group = heads / kvHeads
        var keys: [[Float]] = [], values: [[Float]] = [], out: [[Float]] = []
        for t in embeddings.indices {
            let z = matvec("fc.weight", embeddings[t] + features[t], rows: hidden)
            var q = matvec("layers.0.self_attn.q_proj.weight", z, rows: heads * d)
            var k = matvec("layers.0.self_attn.k_proj.weight", z, rows: kvHeads * d)
            let v = matvec("layers.0.self_attn.v_proj.weight", z, rows: kvHeads * d)
            rope(&q, heads: heads, position: t)
            rope(&k, heads: kvHeads, position: t)
            keys.append(k)
            values.append(v)
            var attended = [Float](repeating: 0, count: heads * d)
            for h in 0..<heads {
                let kv = h / group
                let scores = (0...t).map { s -> Float in
                    var dot: Float = 0
                    for i in 0..<d { dot += q[h * d + i] * keys[s][kv * d + i] }
                    return dot / Float(d).squareRoot()
                }
                let m = scores.max() ?? 0
                let e = scores.map { Foundation.exp($0 - m) }
                let total = e.reduce(0, +)
                for s in 0...t { for i in 0..<d { attended[h * d + i] += e[s] / total * values[s][kv * d + i] } }
            }
            var x = z
            let o = matvec("layers.0.self_attn.o_proj.weight", attended, rows: hidden)
            for i in x.indices { x[i] += o[i] }
            let norm = tensors["layers.0.post_attention_layernorm.weight"] ?? []
            let ms = x.reduce(Float(0)) { $0 + $1 * $1 } / Float(hidden)
            let scale = 1 / (ms + rmsEps).squareRoot()
            let h2 = x.indices.map { x[$0] * scale * norm[$0] }
            let g = matvec("layers.0.mlp.gate_proj.weight", h2, rows: intermediate)
            let u = matvec("layers.0.mlp.up_proj.weight", h2, rows: intermediate)
            let act = g.indices.map { g[$0] / (1 + Foundation.exp(-g[$0])) * u[$0] }
            let m = matvec("layers.0.mlp.down_proj.weight", act, rows: hidden)
            for i in x.indices { x[i] += m[i] }
            out.append(x)
        }
        return out
    }
}
