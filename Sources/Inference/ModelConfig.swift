import StrictJSON

/// The hyper-parameters of a LLaMA-style model, from the `config` the converter stores in the
/// `.hkw` header (`CanonicalConfig` in Conversion).
public struct ModelConfig: Sendable {
    public var family: String
    public var hidden: Int
    public var intermediate: Int
    public var layers: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var vocab: Int
    public var rmsEps: Float
    public var ropeTheta: Double
    /// The positions the model was trained for (`max_position_embeddings`), nil when unknown.
    public var contextLength: Int?
    /// LLaMA-3.1 style `rope_scaling` (`rope_type: llama3`), or nil.
    public var llama3Scaling: (factor: Double, low: Double, high: Double, original: Double)?

    public init(json c: JSONValue, path: String) throws {
        func int(_ k: String) throws -> Int {
            guard let v = c[k]?.intValue, v > 0 else { throw InferenceError("config has no positive \(k)", path: path) }
            return v
        }
        family = c["family"]?.stringValue ?? ""
        hidden = try int("hidden_size")
        intermediate = try int("intermediate_size")
        layers = try int("num_layers")
        heads = try int("num_heads")
        kvHeads = try int("num_kv_heads")
        headDim = try int("head_dim")
        vocab = try int("vocab_size")
        rmsEps = Float(c["rms_norm_eps"]?.doubleValue ?? 1e-6)
        ropeTheta = c["rope_theta"]?.doubleValue ?? 10000
        contextLength = c["max_position_embeddings"]?.intValue.flatMap { $0 > 0 ? $0 : nil }
        guard heads % kvHeads == 0, headDim % 2 == 0 else {
            throw InferenceError("heads \(heads) / kv heads \(kvHeads) / head dim \(headDim) do not fit", path: path)
        }
        if let s = c["rope_scaling"], let type = s["rope_type"]?.stringValue ?? s["type"]?.stringValue {
            guard type == "llama3" else {
                throw InferenceError("rope_scaling type \(type) is not supported by this engine yet", path: path)
            }
            llama3Scaling = (
                s["factor"]?.doubleValue ?? 8, s["low_freq_factor"]?.doubleValue ?? 1,
                s["high_freq_factor"]?.doubleValue ?? 4,
                s["original_max_position_embeddings"]?.doubleValue ?? 8192
            )
        }
    }

    /// Rotary inverse frequencies, with LLaMA-3.1 scaling applied when configured.
    public func inverseFrequencies() -> [Float] {
        (0..<(headDim / 2)).map { i in
            var f = 1.0 / pow(ropeTheta, Double(2 * i) / Double(headDim))
            if let s = llama3Scaling {
                let lowWavelen = s.original / s.low
                let highWavelen = s.original / s.high
                let wavelen = 2 * Double.pi / f
                if wavelen > lowWavelen {
                    f /= s.factor
                } else if wavelen >= highWavelen {
                    let smooth = (s.original / wavelen - s.low) / (s.high - s.low)
                    f = (1 - smooth) * f / s.factor + smooth * f
                }
            }
            return Float(f)
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
