internal import CKernels
import CacheLayout
import Checkpoints
import Crypto
import Dispatch
import Foundation
import Platform
import Quantization
import StrictJSON
import WeightFormat

#if canImport(Glibc)
import Glibc
#endif

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
        /// Store Q8_0/Q4_0/Q4_K matrices row-interleaved (Q8_0_R8/Q4_0_R8/Q4_K_R8), the layout the
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

    public static func convert(
        source: String, out: String, options: Options, log: (String) -> Void = { _ in }
    ) throws -> Report {
        let started = DispatchClock.now()
        if FileSystem.kind(of: out) != .missing && !options.force {
            throw ConversionError(.outputExists, path: out)
        }
        AtomicFileWriter.removeStalePartials(for: out)
        let checkpoint = try Checkpoint.open(source)
        try ConversionPolicy.check(checkpoint)
        let names = checkpoint.tensors.map(\.name)
        let family = try ModelFamily.detect(config: checkpoint.config, tensorNames: names, path: source)
        let hyper = try CanonicalConfig.make(
            config: checkpoint.config, family: family, tensorNames: Set(names), path: source)

        var plan = try makePlan(
            checkpoint, family: family, type: options.type, interleave: options.interleave,
            outputType: options.outputType, source: source)
        var architecture = family.architecture
        var role = family == .eagleHead ? "draft" : "base"
        var hyperMembers = hyper.objectMembers ?? []
        if let layers = options.layers {
            plan = try selectLayers(plan, layers: Set(layers), source: source)
            let total = checkpoint.config?["num_hidden_layers"]?.intValue ?? -1
            let nextn = checkpoint.config?["num_nextn_predict_layers"]?.intValue ?? 0
            if family == .deepseekV3, nextn > 0, Set(layers) == Set(total..<(total + nextn)) {
                // DeepSeek stores its multi-token-prediction module as the extra layer(s).
                architecture = .deepseekMTP
                role = "draft"
            }
            hyperMembers.append(("layers", .array(layers.sorted().map { .int($0) })))
        }
        var shared: [String] = []
        var baseHash: String?
        if let basePath = options.draftOf {
            guard family == .eagleHead else {
                throw ConversionError(
                    .draftBase("--draft-of applies to HASS draft heads; this is a \(family.rawValue) checkpoint"),
                    path: source)
            }
            let base = try HKWFile(path: basePath)
            baseHash = base.contentHash
            if let i = plan.firstIndex(where: { $0.canonical == "token_embd.weight" }),
                try embeddingMatches(plan[i].source, base: base, basePath: basePath)
            {
                plan.remove(at: i)
                shared.append("token_embd.weight")
                log("token_embd.weight equals the base's embedding: not stored (the engine reads the base's)")
            }
        }

        // Auxiliary files from the model folder.
        var files: [(String, ByteView)] = []
        if FileSystem.kind(of: source) == .directory {
            for name in auxiliaryFiles where FileSystem.kind(of: FileSystem.join(source, name)) == .file {
                files.append((name, try ByteStorage(mapping: FileSystem.join(source, name)).view))
            }
        }
        // What the checkpoint describes itself (a GGUF's config and tokenizer), unless the folder has it.
        for (name, bytes) in checkpoint.generatedFiles where !files.contains(where: { $0.0 == name }) {
            files.append((name, ByteView(bytes, label: name)))
        }

        var entries: [HKWWriter.Entry] = plan.map { .tensor($0.canonical, type: $0.type, shape: $0.shape) }
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
        let known = checkpoint.files.map {
            FileSystem.symlinkTarget($0).flatMap(SnapshotLocation.blobDigest(linkTarget:))
        }
        let hashes = SourceHasher(
            files: options.hashSources ? zip(checkpoint.files, known).filter { $0.1 == nil }.map(\.0) : [])
        let provenance = try makeProvenance(checkpoint, options: options, digests: nil)
        var metadata: [(String, JSONValue)] = [
            ("architecture", .string(architecture.rawValue)),
            ("role", .string(role)),
            ("config", .object(hyperMembers)),
            ("provenance", provenance),
        ]
        if let baseHash {
            metadata.append(("base_content_hash", .string(baseHash)))
            metadata.append(("shared_with_base", .array(shared.map { .string($0) })))
        }
        if files.contains(where: { $0.0 == "tokenizer.json" }) {
            metadata.append(
                ("tokenizer", .object([("file", .string("tokenizer.json")), ("kind", .string("tokenizer.json"))])))
        } else if files.contains(where: { $0.0 == "tokenizer.model" }) {
            metadata.append(
                ("tokenizer", .object([("file", .string("tokenizer.model")), ("kind", .string("sentencepiece"))])))
        }
        // Room for the per-tensor quality table written at commit.
        let reserve = plan.reduce(4096) { $0 + $1.canonical.utf8.count * 2 + 160 }
        let writer = try HKWWriter(path: out, metadata: .object(metadata), entries: entries, metadataReserve: reserve)

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
        for (_, view) in files {
            try writer.append(view)
            try writer.finishEntry()
        }
        metadata.append(("quality", .object(quality)))
        var computed = try hashes.wait().makeIterator()
        let digests = options.hashSources ? known.map { $0 ?? computed.next() ?? "" } : []
        if let i = metadata.firstIndex(where: { $0.0 == "provenance" }) {
            metadata[i].1 = try makeProvenance(checkpoint, options: options, digests: digests)
        }
        try writer.commit(metadata: .object(metadata))
        let bytesOut = (try? FileSystem.size(of: out)) ?? 0
        return Report(
            out: out, type: options.type, family: family, tensors: plan.count, bytesIn: bytesIn, bytesOut: bytesOut,
            seconds: DispatchClock.now() - started, peakRSS: FileSystem.peakResidentMemory(), maxRelRMSE: maxRMSE,
            shared: shared)
    }

    // MARK: Planning

    /// With `interleave`, Q8_0, Q4_0 and Q4_K matrices whose rows come in whole groups of 8 are
    /// stored row-interleaved (Q8_0_R8, Q4_0_R8, Q4_K_R8: the same blocks, laid out for the
    /// engine's kernels);
    /// the token embedding stays row after row, as the engine looks rows up in it.
    static func makePlan(
        _ checkpoint: Checkpoint, family: ModelFamily, type: ConversionType, interleave: Bool = true,
        outputType: ConversionType? = nil, source: String
    ) throws -> [Planned] {
        let hasFP8 = checkpoint.tensors.contains { $0.dtype == .f8e4m3 }
        let layers = checkpoint.config?["num_hidden_layers"]?.intValue ?? 1
        // With tied embeddings the token embedding is also the output head (not in a draft head,
        // which borrows its base's head).
        let tied =
            family != .eagleHead
            && !checkpoint.tensors.contains { NameMap.canonical($0.name, family: family) == "output.weight" }
        var plan: [Planned] = []
        var seen = Set<String>()
        for t in checkpoint.tensors {
            guard let canonical = NameMap.canonical(t.name, family: family) else {
                throw ConversionError(.unexpectedTensor(t.name, family: family.rawValue), path: t.file)
            }
            if canonical.isEmpty { continue }
            guard seen.insert(canonical).inserted else {
                throw ConversionError(
                    .unexpectedTensor("\(t.name) (a second tensor for \(canonical))", family: family.rawValue),
                    path: t.file)
            }
            guard [.f32, .f16, .bf16, .f8e4m3, .f64].contains(t.dtype) || t.dtype.ggmlBlock != nil else {
                throw ConversionError(.unsupportedElementType(tensor: t.name, dtype: t.dtype.rawValue), path: t.file)
            }
            if t.name.hasSuffix("_scale_inv") {
                // Consumed by its weight (dequantized), or kept next to it for fp8 output.
                if type == .fp8 {
                    plan.append(
                        Planned(
                            canonical: canonical, source: t, scale: t, type: .f32, shape: t.shape, mode: .fp8Scales,
                            fallback: false))
                }
                continue
            }
            let scale = t.dtype == .f8e4m3 ? checkpoint.tensor(named: FP8BlockScale.scaleName(for: t.name)) : nil
            let rows = t.shape.count >= 2
            let columns = t.shape.last ?? 1
            func entry(_ q: QuantType, _ mode: Mode, fallback: Bool = false) -> Planned {
                Planned(
                    canonical: canonical, source: t, scale: scale, type: q, shape: t.shape, mode: mode,
                    fallback: fallback)
            }
            if !rows {
                plan.append(entry(.f32, t.dtype == .f32 ? .copy : .encode))
                continue
            }
            let outputHead = canonical == "output.weight" || (tied && canonical == "token_embd.weight")
            let type = outputHead ? (outputType ?? type) : type
            switch type {
            case .f32, .f16, .bf16:
                let q: QuantType = type == .f32 ? .f32 : type == .f16 ? .f16 : .bf16
                plan.append(entry(q, t.dtype.rawValue == q.rawValue ? .copy : .encode))
            case .q8_0, .q4_0, .q4_k, .q6_k, .q4_k_m:
                let wanted = blockType(
                    for: canonical, type: type, layers: layers, columns: columns,
                    outputHead: outputHead && outputType == nil)
                // Rows that do not fit the block: the nearest smaller block type, else F16.
                let q = [wanted, .q8_0].first { columns % $0.blockSize == 0 }
                if var q {
                    let fallback = q != wanted
                    // A GGUF tensor already in this block type is kept as it is.
                    let keep = t.dtype.rawValue == q.rawValue.uppercased()
                    if let fast = q.interleaved, interleave, canonical != "token_embd.weight",
                        fast.shapeProblem(t.shape) == nil
                    {
                        q = fast
                    }
                    plan.append(entry(q, keep ? .copyBlocks : .encode, fallback: fallback))
                } else {
                    plan.append(entry(.f16, t.dtype == .f16 ? .copy : .encode, fallback: true))
                }
            case .fp8:
                if t.dtype == .f8e4m3 {
                    var e = entry(.f8e4m3, .copy)
                    e.scale = nil
                    plan.append(e)
                } else if !hasFP8 && t.shape.count == 2 && isProjection(canonical) {
                    plan.append(entry(.f8e4m3, .fp8Quantize))
                    let scaleShape = t.shape.map { ($0 + FP8BlockScale.defaultBlock - 1) / FP8BlockScale.defaultBlock }
                    plan.append(
                        Planned(
                            canonical: canonical + "_scale_inv", source: t, scale: nil, type: .f32, shape: scaleShape,
                            mode: .fp8Scales, fallback: false))
                } else if let same = HKWCopy.storageType(for: t.dtype) {
                    plan.append(entry(same, .copy))
                } else {
                    plan.append(entry(.f32, .encode))
                }
            }
        }
        return plan.sorted { naturalLess($0.canonical, $1.canonical) }
    }

    /// Keeps the tensors of the given decoder layers; every requested layer must exist.
    static func selectLayers(_ plan: [Planned], layers: Set<Int>, source: String) throws -> [Planned] {
        func layer(_ name: String) -> Int? {
            let parts = name.split(separator: ".")
            return parts.count > 2 && parts[0] == "blk" ? Int(parts[1]) : nil
        }
        let kept = plan.filter { layer($0.canonical).map(layers.contains) ?? false }
        let found = Set(kept.compactMap { layer($0.canonical) })
        if let missing = layers.subtracting(found).sorted().first {
            let available = Set(plan.compactMap { layer($0.canonical) }).sorted()
            throw ConversionError(
                .missingLayer(missing, available: "\(available.first ?? 0)–\(available.last ?? 0)"), path: source)
        }
        return kept
    }

    /// The block type a weight gets, as llama.cpp's `llama_tensor_get_type` chooses it:
    /// - the output head (or the tied token embedding that serves as it) is Q6_K for the 4-bit
    ///   types, Q8_0 where its rows are not a multiple of 256 (llama.cpp: `nx % QK_K != 0`);
    /// - `q4_k_m` is llama.cpp's Q4_K_M recipe: Q6_K for `attn_v` and `ffn_down` in the first and
    ///   last eighth of the layers and every third layer between them; Q4_K for everything else.
    static func blockType(
        for canonical: String, type: ConversionType, layers: Int, columns: Int, outputHead: Bool
    ) -> QuantType {
        if outputHead, type == .q4_0 || type == .q4_k || type == .q4_k_m {
            return columns % QuantType.q6_k.blockSize == 0 ? .q6_k : .q8_0
        }
        switch type {
        case .q8_0: return .q8_0
        case .q4_0: return .q4_0
        case .q4_k: return .q4_k
        case .q6_k: return .q6_k
        default: break
        }
        let parts = canonical.split(separator: ".")
        guard parts.count >= 3, parts[0] == "blk", let layer = Int(parts[1]) else { return .q4_k }
        let kind = parts[2]
        guard kind == "attn_v" || kind == "ffn_down" else { return .q4_k }
        let n = max(layers, 1)
        let moreBits = layer < n / 8 || layer >= 7 * n / 8 || (layer - n / 8) % 3 == 2
        return moreBits ? .q6_k : .q4_k
    }

    /// Linear projections inside blocks (not embeddings, the output head or MoE routers).
    static func isProjection(_ canonical: String) -> Bool {
        canonical.hasPrefix("blk.") && !canonical.contains("ffn_gate_inp") && !canonical.contains("embed")
            && !canonical.contains("shared_head_head")
    }

    /// Orders `blk.2.x` before `blk.10.x`; keeps a weight's `_scale_inv` right after it.
    static func naturalLess(_ a: String, _ b: String) -> Bool {
        func key(_ s: String) -> [(Int, String)] {
            s.split(separator: ".").map { part in Int(part).map { ($0, "") } ?? (Int.max, String(part)) }
        }
        let ka = key(a), kb = key(b)
        for (x, y) in zip(ka, kb) where x != y {
            return x.0 != y.0 ? x.0 < y.0 : x.1 < y.1
        }
        return ka.count < kb.count
    }

    // MARK: Streaming

    /// Copies a GGUF tensor's blocks as they are; into a row-interleaved type, 256 rows at a time.
    static func copyBlocks(_ p: Planned, into writer: HKWWriter) throws {
        let data = p.source.contiguousData()
        defer { data.releasePages() }
        guard p.type.interleavedBase != nil else {
            try writer.append(data)
            return
        }
        let columns = p.source.shape.last ?? 1
        let rows = p.source.elementCount / max(columns, 1)
        let rowBytes = data.count / max(rows, 1)
        var out = [UInt8](repeating: 0, count: 256 * rowBytes)
        var start = 0
        while start < rows {
            let n = min(256, rows - start)
            guard let band = data.slice(start: start * rowBytes, length: n * rowBytes) else {
                preconditionFailure("band outside a validated tensor")
            }
            try band.withUnsafeBytes { plain in
                try out.withUnsafeMutableBytes { dst in
                    let target = UnsafeMutableRawBufferPointer(rebasing: dst[0..<(n * rowBytes)])
                    Quantizer.interleave(plain, rows: n, as: p.type, into: target)
                    try writer.append(UnsafeRawBufferPointer(target))
                }
            }
            start += n
        }
    }

    /// Encodes a tensor band by band; returns its relative RMS error against the source values.
    ///
    /// Bands are processed `workers` at a time in parallel (decode, check, encode, measure the
    /// error) and written in order, so output bytes do not depend on the thread count.
    static func encode(_ p: Planned, into writer: HKWWriter, outPath: String) throws -> Double {
        let rows = try RowSource(tensor: p.source, scale: p.scale)
        let band = rows.bandRows()
        precondition(
            band % p.type.interleavedRows == 0 || band >= rows.rows,
            "bands of \(band) rows cut \(p.type.rawValue) groups")
        let workers = max(1, min(8, ProcessInfo.processInfo.activeProcessorCount))
        var sse = 0.0
        var ssx = 0.0
        var start = 0
        while start < rows.rows {
            var starts: [Int] = []
            var s = start
            while s < rows.rows && starts.count < workers {
                starts.append(s)
                s += band
            }
            let slots = BandSlots(count: starts.count)
            let bandStarts = starts
            let total = rows.rows
            let type = p.type
            DispatchQueue.concurrentPerform(iterations: bandStarts.count) { j in
                let count = min(band, total - bandStarts[j])
                slots.set(j, encodeBand(rows, start: bandStarts[j], count: count, type: type))
            }
            for j in 0..<starts.count {
                let r = slots.get(j)
                if let bad = r.nonFinite {
                    throw ConversionError(
                        .nonFiniteValue(tensor: p.source.name, index: starts[j] * rows.columns + bad),
                        path: p.source.file)
                }
                if r.overflow {
                    throw ConversionError(.overflow(tensor: p.source.name, type: p.type.rawValue), path: p.source.file)
                }
                guard let bytes = r.bytes else {
                    throw ConversionError(.unsupportedType(p.type.rawValue), path: outPath)
                }
                sse += r.sse
                ssx += r.ssx
                try writer.append(bytes)
            }
            rows.release(start: start, count: min(s, rows.rows) - start)
            start = s
        }
        p.source.contiguousData().releasePages()
        return ssx > 0 ? (sse / ssx).squareRoot() : (sse > 0 ? 1 : 0)
    }

    struct BandResult: Sendable {
        var bytes: ByteView?
        var sse = 0.0
        var ssx = 0.0
        var nonFinite: Int?
        var overflow = false
    }

    /// Per-band results written by concurrent workers, each to its own slot.
    final class BandSlots: @unchecked Sendable {
        // Each index is written by exactly one worker and read after `concurrentPerform` returns.
        private var results: UnsafeMutableBufferPointer<BandResult>
        init(count: Int) {
            results = .allocate(capacity: count)
            results.initialize(repeating: BandResult())
        }
        deinit {
            results.deinitialize()
            results.deallocate()
        }
        func set(_ i: Int, _ r: BandResult) { results[i] = r }
        func get(_ i: Int) -> BandResult { results[i] }
    }

    static func encodeBand(_ rows: RowSource, start: Int, count: Int, type: QuantType) -> BandResult {
        let values = rows.band(start: start, count: count)
        let bad = values.withUnsafeBufferPointer { ck_first_nonfinite($0.baseAddress, $0.count) }
        if bad < values.count { return BandResult(nonFinite: bad) }
        let size = values.count / type.blockSize * type.bytesPerBlock
        var encoded = true
        let storage = ByteStorage.build(count: size) { out in
            encoded = values.withUnsafeBufferPointer { Quantizer.encode($0, rows: count, as: type, into: out) }
        }
        let bytes = storage.view
        guard encoded,
            let back = bytes.withUnsafeBytes({ Quantizer.decode($0, as: type, rows: count, cols: rows.columns) })
        else {
            return BandResult()
        }
        if back.withUnsafeBufferPointer({ ck_first_nonfinite($0.baseAddress, $0.count) }) < back.count {
            return BandResult(overflow: true)
        }
        var r = BandResult(bytes: bytes)
        ck_error_sums(back, values, values.count, &r.sse, &r.ssx)
        return r
    }

    /// Quantizes a 2-D weight to E4M3 with one scale per 128×128 block (scale = amax / 448);
    /// returns the relative RMS error and the scales, row-major.
    static func quantizeFP8(_ p: Planned, into writer: HKWWriter) throws -> (Double, [Float]) {
        let rows = try RowSource(tensor: p.source, scale: nil)
        let block = FP8BlockScale.defaultBlock
        let scaleColumns = (rows.columns + block - 1) / block
        var scales: [Float] = []
        var sse = 0.0
        var ssx = 0.0
        var start = 0
        while start < rows.rows {
            let count = min(block, rows.rows - start)
            let values = rows.band(start: start, count: count)
            if let bad = values.firstIndex(where: { !$0.isFinite }) {
                throw ConversionError(
                    .nonFiniteValue(tensor: p.source.name, index: start * rows.columns + bad), path: p.source.file)
            }
            var bandScales = [Float](repeating: 0, count: scaleColumns)
            for r in 0..<count {
                for c in 0..<rows.columns {
                    bandScales[c / block] = max(bandScales[c / block], abs(values[r * rows.columns + c]))
                }
            }
            bandScales = bandScales.map { $0 > 0 ? $0 / 448 : 1 }
            var codes = [UInt8](repeating: 0, count: values.count)
            for r in 0..<count {
                for c in 0..<rows.columns {
                    let i = r * rows.columns + c
                    let s = bandScales[c / block]
                    codes[i] = ck_float_to_f8e4m3_scalar(values[i] / s)
                    let back = Double(F8E4M3.decode(codes[i])) * Double(s)
                    let d = back - Double(values[i])
                    sse += d * d
                    ssx += Double(values[i]) * Double(values[i])
                }
            }
            try writer.append(codes)
            rows.release(start: start, count: count)
            scales += bandScales
            start += count
        }
        return (ssx > 0 ? (sse / ssx).squareRoot() : 0, scales)
    }

    // MARK: Drafts and provenance

    /// True when the head's embedding equals the base's, within what the base's own storage type
    /// can hold (its recorded quantization error, or exactness for lossless types).
    static func embeddingMatches(_ head: Tensor, base: HKWFile, basePath: String) throws -> Bool {
        guard let be = base.tensor(named: "token_embd.weight"), let type = be.type else { return false }
        guard be.shape == head.shape else {
            throw ConversionError(
                .draftBase(
                    "the head's embedding is \(head.shape) but the base's is \(be.shape): this head was not made for this base"
                ), path: basePath)
        }
        let recorded = base.metadata["quality"]?["token_embd.weight"]?["rel_rmse"]?.doubleValue ?? 0
        let tolerance = max(1e-6, 2 * recorded)
        let source = try RowSource(tensor: head, scale: nil)
        let band = source.bandRows()
        var sse = 0.0
        var ssx = 0.0
        var start = 0
        while start < source.rows {
            let count = min(band, source.rows - start)
            let mine = source.band(start: start, count: count)
            let offset = start * source.columns / type.blockSize * type.bytesPerBlock
            let length = mine.count / type.blockSize * type.bytesPerBlock
            guard let slice = be.data.slice(start: offset, length: length),
                let theirs = slice.withUnsafeBytes({ Quantizer.decode($0, as: type, rows: count, cols: source.columns) }
                )
            else { return false }
            for (a, b) in zip(mine, theirs) {
                sse += Double(a - b) * Double(a - b)
                ssx += Double(a) * Double(a)
            }
            start += count
        }
        let rel = ssx > 0 ? (sse / ssx).squareRoot() : 0
        return rel <= tolerance
    }

    /// `digests` are the source files' SHA-256 in `checkpoint.files` order; nil writes
    /// placeholders of the final length (or none when hashing is off).
    static func makeProvenance(_ checkpoint: Checkpoint, options: Options, digests: [String]?) throws -> JSONValue {
        var files: [JSONValue] = []
        for (i, f) in checkpoint.files.enumerated() {
            var members: [(String, JSONValue)] = [
                ("name", .string(FileSystem.split(f).name)), ("bytes", .int(try FileSystem.size(of: f))),
            ]
            if options.hashSources {
                members.append(("sha256", .string(digests?[i] ?? String(repeating: "0", count: 64))))
            }
            files.append(.object(members))
        }
        var members: [(String, JSONValue)] = [("source", .string(checkpoint.path))]
        if let snapshot = SnapshotLocation(path: checkpoint.path) {
            members.append(("repo", .string(snapshot.repo.description)))
            members.append(("commit", .string(snapshot.commit.hex)))
        }
        return .object(
            members + [
                ("files", .array(files)),
                ("converter", .string("hasskit \(HasskitBuild.version)")),
                ("arguments", .array(options.arguments.map { .string($0) })),
                ("type", .string(options.type.rawValue)),
            ])
    }
}
