import Crypto
import Platform
import Quantization
import StrictJSON
import WeightFormat

extension Converter {
    /// What a conversion of `source` would record in its `.hkw` header, found without reading a
    /// weight: the checkpoint's headers (safetensors headers, a `.bin`'s pickle, a GGUF's metadata
    /// and tensor infos), its config and its small companion files. `compat` decides from this
    /// whether a head fits a base before either is converted, or downloaded in full.
    public struct Description: Sendable {
        public var source: String
        public var architecture: HKWArchitecture
        /// The canonical config, as `metadata.config` of the converted file.
        public var config: JSONValue
        /// Canonical tensor name → shape.
        public var shapes: [String: [Int]]
        /// The source element types (`BF16`, `F16`, `F8_E4M3`, `Q4_K`, …), each once.
        public var dtypes: [String]
        /// Companion file name → lower-case hex SHA-256 (tokenizer.json, tokenizer.model, …).
        public var files: [String: String]
    }

    public static func describe(source: String) throws -> Description {
        let job = try Job(source: source, options: Options(type: .bf16), log: { _ in })
        var shapes: [String: [Int]] = [:]
        for p in job.plan { shapes[p.canonical] = p.shape }
        var files: [String: String] = [:]
        for (name, bytes) in try companionFiles(of: job.checkpoint, source: source) {
            files[name] = bytes.withUnsafeBytes { Hex.encode(Array(SHA256.hash(data: $0))) }
        }
        let dtypes = Set(job.checkpoint.tensors.map(\.dtype.rawValue)).sorted()
        return Description(
            source: source, architecture: job.architecture, config: .object(job.config), shapes: shapes,
            dtypes: dtypes, files: files)
    }
}
