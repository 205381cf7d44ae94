import CacheLayout
import Checkpoints
import Platform
import Quantization
import StrictJSON
import WeightFormat

/// Converts a checkpoint (folder or file) into a `.hkw` file.
///
/// Policy, in one place:
/// - Every source tensor must map to a canonical name (`NameMap`); unknown tensors are an error.
/// - 1-D tensors (norms, biases, router bias) are stored as F32.
/// - Other tensors get the requested type when their rows fit its block size, otherwise F16 (the
///   fallback is recorded per tensor).
/// - `fp8`: FP8 weights stay E4M3 with their block scales, byte for byte; other tensors keep their
///   source type, except that a checkpoint without FP8 weights has its 2-D projection weights
///   quantized to E4M3 with 128×128 block scales (DeepSeek's scheme).
/// - FP8 sources converted to any other type are dequantized with their scales first.
/// - Tensors stream through in bands of about a million values: memory stays bounded by the band
///   size plus the largest FP8 scale table, whatever the model size.
/// - Values are checked to be finite; F16 output is checked not to overflow.
/// - The output is written to a temporary file, fsynced and renamed; an existing output is only
///   replaced with `force`.
public struct Converter {
    public struct Options: Sendable {
        public var type: ConversionType
        public var draftOf: String?
        public var force = false
        /// The command line, recorded in the provenance.
        public var arguments: [String] = []
        public var hashSources = true
        /// Keep only these decoder layers (and drop the embedding, final norm and head): with
        /// DeepSeek's MTP layer index this extracts the multi-token-prediction draft.
        public var layers: [Int]?
        /// Store Q8_0/Q4_0/Q4_K/Q5_0/Q6_K matrices row-interleaved (Q8_0_R8/…/Q6_K_R8), the layout the
        /// engine's kernels run fastest on; false keeps ggml's row-after-row layout.
        public var interleave = true
        /// The output head's type (llama-quantize's `--output-tensor-type`); nil: llama.cpp's choice
        /// (Q6_K for the 4-bit types, Q8_0 where rows are not a multiple of 256).
        public var outputType: ConversionType?

        public init(type: ConversionType, draftOf: String? = nil, force: Bool = false, arguments: [String] = []) {
            self.type = type
            self.draftOf = draftOf
            self.force = force
            self.arguments = arguments
        }
    }

    public struct Report: Sendable {
        public var out: String
        public var type: ConversionType
        public var family: ModelFamily
        public var tensors: Int
        public var bytesIn: UInt64
        public var bytesOut: UInt64
        public var seconds: Double
        public var peakRSS: UInt64
        public var maxRelRMSE: Double
        /// Canonical names of tensors left out because the base provides them.
        public var shared: [String]

        public var json: JSONValue {
            .object([
                ("out", .string(out)), ("type", .string(type.rawValue)), ("family", .string(family.rawValue)),
                ("tensors", .int(tensors)), ("bytes_in", .int(bytesIn)), ("bytes_out", .int(bytesOut)),
                ("seconds", .double((seconds * 1000).rounded() / 1000)), ("peak_rss_bytes", .int(peakRSS)),
                ("max_rel_rmse", .double(maxRelRMSE)), ("shared_with_base", .array(shared.map { .string($0) })),
            ])
        }
    }

    /// `copyBlocks`: GGUF blocks of a type `.hkw` has, kept byte for byte (interleaved when the
    /// target is a row-interleaved type).
    enum Mode { case copy, copyBlocks, encode, fp8Quantize, fp8Scales }

    struct Planned {
        var canonical: String
        var source: Tensor
        var scale: Tensor?
        var type: QuantType
        var shape: [Int]
        var mode: Mode
        var fallback: Bool
    }

    /// Auxiliary files stored verbatim when present beside the weights.
    static let auxiliaryFiles = [
        "config.json", "generation_config.json", "tokenizer.json", "tokenizer.model",
        "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja",
    ]

    /// Converts `source` into `out`: plan every tensor, write them in order through one streaming
    /// writer while the source files are hashed on another thread, then commit atomically.
    public static func convert(
        source: String, out: String, options: Options, log: (String) -> Void = { _ in }
    ) throws -> Report {
        let started = DispatchClock.now()
        if FileSystem.kind(of: out) != .missing && !options.force {
            throw ConversionError(.outputExists, path: out)
        }
        AtomicFileWriter.removeStalePartials(for: out)
        let job = try Job(source: source, options: options, log: log)
        let files = try companionFiles(of: job.checkpoint, source: source)

        var entries: [HKWWriter.Entry] = job.plan.map { .tensor($0.canonical, type: $0.type, shape: $0.shape) }
        entries += files.map { .file($0.0, length: $0.1.count) }
        let estimated = entries.reduce(UInt64(0)) { $0 + $1.length + 64 } + 1 << 20
        let folder = FileSystem.split(out).directory
        if let available = try? FileSystem.availableSpace(at: folder), available < estimated {
            throw ConversionError(.notEnoughSpace(needed: estimated, available: available), path: folder)
        }

        // Source files are hashed on another thread while the tensors are converted; the header
        // gets placeholders of the same length first and the digests at commit.
        // Files in the hub cache are links to blobs named by their SHA-256, verified when they were
        // downloaded: those need no second pass.
        let known = job.checkpoint.files.map {
            FileSystem.symlinkTarget($0).flatMap(SnapshotLocation.blobDigest(linkTarget:))
        }
        let hashes = SourceHasher(
            files: options.hashSources ? zip(job.checkpoint.files, known).filter { $0.1 == nil }.map(\.0) : [])
        var metadata = try job.metadata(files: files.map(\.0))
        // Room for the per-tensor quality table written at commit.
        let reserve = job.plan.reduce(4096) { $0 + $1.canonical.utf8.count * 2 + 160 }
        let writer = try HKWWriter(path: out, metadata: .object(metadata), entries: entries, metadataReserve: reserve)

        let written = try writeTensors(job.plan, into: writer, out: out, log: log)
        for (_, view) in files {
            try writer.append(view)
            try writer.finishEntry()
        }
        metadata.append(("quality", .object(written.quality)))
        var computed = try hashes.wait().makeIterator()
        let digests = options.hashSources ? known.map { $0 ?? computed.next() ?? "" } : []
        if let i = metadata.firstIndex(where: { $0.0 == "provenance" }) {
            metadata[i].1 = try makeProvenance(job.checkpoint, options: options, digests: digests)
        }
        try writer.commit(metadata: .object(metadata))
        let bytesOut = (try? FileSystem.size(of: out)) ?? 0
        return Report(
            out: out, type: options.type, family: job.family, tensors: job.plan.count, bytesIn: written.bytesIn,
            bytesOut: bytesOut, seconds: DispatchClock.now() - started, peakRSS: FileSystem.peakResidentMemory(),
            maxRelRMSE: written.maxRMSE, shared: job.shared)
    }

    /// The auxiliary files stored verbatim: those beside the weights in a model folder, then what
    /// the checkpoint describes itself (a GGUF's config and tokenizer) unless the folder has it.
    static func companionFiles(of checkpoint: Checkpoint, source: String) throws -> [(String, ByteView)] {
        var files: [(String, ByteView)] = []
        if FileSystem.kind(of: source) == .directory {
            for name in auxiliaryFiles where FileSystem.kind(of: FileSystem.join(source, name)) == .file {
                files.append((name, try ByteStorage(mapping: FileSystem.join(source, name)).view))
            }
        }
        for (name, bytes) in checkpoint.generatedFiles where !files.contains(where: { $0.0 == name }) {
            files.append((name, ByteView(bytes, label: name)))
        }
        return files
    }

    /// Writes the planned tensors in order; returns each one's quality entry, the largest relative
    /// RMS error and the source bytes read.
    static func writeTensors(
        _ plan: [Planned], into writer: HKWWriter, out: String, log: (String) -> Void
    ) throws -> (quality: [(String, JSONValue)], maxRMSE: Double, bytesIn: UInt64) {
        var quality: [(String, JSONValue)] = []
        var maxRMSE = 0.0
        var bytesIn: UInt64 = 0
        var pendingScales: [Float] = []
        for (index, p) in plan.enumerated() {
            log("[\(index + 1)/\(plan.count)] \(p.canonical) \(p.type.rawValue) \(p.shape)")
            if p.mode != .fp8Scales || p.scale != nil { bytesIn += UInt64(p.source.byteCount) }
            var rmse = 0.0
            switch p.mode {
            case .copy:
                let data = p.source.contiguousData()
                try writer.append(data)
                data.releasePages()
            case .copyBlocks:
                try copyBlocks(p, into: writer)
            case .fp8Scales:
                if let scale = p.scale {  // copied from the source
                    try writer.append(scale.contiguousData())
                } else {
                    var bytes: [UInt8] = []
                    bytes.reserveCapacity(pendingScales.count * 4)
                    for s in pendingScales {
                        withUnsafeBytes(of: s.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
                    }
                    try writer.append(bytes)
                }
            case .encode:
                rmse = try encode(p, into: writer, outPath: out)
            case .fp8Quantize:
                (rmse, pendingScales) = try quantizeFP8(p, into: writer)
            }
            try writer.finishEntry()
            maxRMSE = max(maxRMSE, rmse)
            var q: [(String, JSONValue)] = [
                ("source", .string(p.source.name)), ("source_dtype", .string(p.source.dtype.rawValue)),
            ]
            if p.mode == .encode || p.mode == .fp8Quantize { q.append(("rel_rmse", .double(rmse))) }
            if p.fallback { q.append(("fallback", .bool(true))) }
            quality.append((p.canonical, .object(q)))
        }
        return (quality, maxRMSE, bytesIn)
    }
}
