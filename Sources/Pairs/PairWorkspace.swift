import CacheLayout
import Checks
import Conversion
import Export
import Hub
import Inference
import Platform
import Registry
import Tokenizers
import WeightFormat

/// One pair's store and the main job on it, below the CLI: `pull` → `convert` → `compat` →
/// `check`. Every command that works on a pair (and `demo`, which is this workspace pointed at a
/// loopback hub) goes through it, and each step returns a value the CLI only renders.
///
/// The store (`$HASSKIT_HOME/pairs/<id>/`) holds the lock file and the converted files, named
/// `base-<type>.hkw` and `draft-<type>.hkw` (`ConvertedFiles`).
public struct PairWorkspace: Sendable {
    public let manifest: Manifest
    public let operations: PairOperations
    /// Where the converted files go (the pair's store folder unless given).
    public let folder: String

    public init(manifest: Manifest, client: HubClient, folder: String? = nil) {
        self.manifest = manifest
        operations = PairOperations(client: client)
        self.folder = folder ?? operations.store.folder(manifest.id)
    }

    /// The draft kind, as the registry defines it.
    public var draftKind: DraftKind { manifest.draftKind }

    /// The CPU tree of the manifest, in the engine's type.
    public var cpuTree: TreeSettings { TreeSettings(manifest.cpuTree) }
    /// The published GPU tree, in the engine's type.
    public var gpuTree: TreeSettings { TreeSettings(manifest.gpuTree) }

    // MARK: Pull

    /// Downloads both members into the hub cache, verified, and pins them in the lock file.
    public func pull(options: PullOptions = PullOptions(), progress: DownloadProgress) throws -> PullSummary {
        try operations.pull(.pair(manifest), options: options, progress: progress)
    }

    /// The pulled snapshot folders.
    public func snapshots() throws -> (base: String, draft: String) {
        let s = try operations.snapshots(manifest.id)
        guard let base = s[.base], let draft = s[.draft] else { throw PairError(.incompleteLock, pair: manifest.id) }
        return (base, draft)
    }

    // MARK: Convert

    /// The two converted files of one type.
    public struct ConvertedFiles: Sendable, Equatable {
        public var type: String
        public var base: String
        public var draft: String

        /// The one place the store's file names are made.
        public static func baseName(_ type: String) -> String { "base-\(type).hkw" }
        public static func draftName(_ type: String) -> String { "draft-\(type).hkw" }

        public init(folder: String, type: String) {
            self.type = type
            base = folder + "/" + Self.baseName(type)
            draft = folder + "/" + Self.draftName(type)
        }
    }

    /// The pair's converted files (of `type`, when it was converted as several), else its pulled
    /// snapshots: what `compat` and `check --server` read.
    public func convertedOrPulled(type: String?) throws -> (base: String, draft: String) {
        guard !convertedTypes().isEmpty else { return try snapshots() }
        let files = try convertedFiles(type: type)
        return (files.base, files.draft)
    }

    /// The types this pair is converted as (both files present), sorted.
    public func convertedTypes() -> [String] {
        let names = Set((try? FileSystem.contents(of: folder)) ?? [])
        return names.filter { $0.hasPrefix("draft-") && $0.hasSuffix(".hkw") }.map {
            String($0.dropFirst(6).dropLast(4))
        }
        .filter { names.contains(ConvertedFiles.baseName($0)) }.sorted()
    }

    /// The converted files of `type`, or of the only type converted when `type` is nil.
    public func convertedFiles(type: String?) throws -> ConvertedFiles {
        let types = convertedTypes()
        guard !types.isEmpty else { throw PairError(.notConverted, pair: manifest.id) }
        if let type {
            guard types.contains(type) else {
                throw PairError(.typeNotConverted(type, available: types), pair: manifest.id)
            }
            return ConvertedFiles(folder: folder, type: type)
        }
        guard types.count == 1 else { throw PairError(.ambiguousType(types), pair: manifest.id) }
        return ConvertedFiles(folder: folder, type: types[0])
    }

    /// Converts the pulled members into the store: the base first, then the draft against it (a
    /// HASS head then drops its copy of the base's embedding when equal).
    public func convert(
        type: ConversionType, options: Converter.Options, log: (String) -> Void = { _ in }
    )
        throws -> (files: ConvertedFiles, base: Converter.Report, draft: Converter.Report)
    {
        let (baseSource, draftSource) = try snapshots()
        try FileSystem.createDirectory(folder)
        let files = ConvertedFiles(folder: folder, type: type.rawValue)
        var options = options
        options.type = type
        options.draftOf = nil
        let base = try Converter.convert(source: baseSource, out: files.base, options: options, log: log)
        let found = try HKWFile(path: files.base).architecture
        guard found == manifest.family.architecture else {
            throw PairError(
                .familyMismatch(expected: manifest.family.architecture.rawValue, found: found?.rawValue ?? "none"),
                pair: manifest.id)
        }
        options.draftOf = draftKind == .eagle1Head ? files.base : nil
        let draft = try Converter.convert(source: draftSource, out: files.draft, options: options, log: log)
        return (files, base, draft)
    }

    // MARK: Compat and check

    /// The structural checks of two converted files (headers only, no weights read).
    public static func structuralCompat(base: String, draft: String) throws -> PairCompatibility {
        PairCompatibility(base: try header(base), draft: try header(draft))
    }

    /// What `compat` reads of a model: a converted `.hkw` file's header, else a checkpoint
    /// (folder, sharded or not, `.bin`, GGUF) described from its headers and config, no weight read.
    public static func header(_ path: String) throws -> ModelHeader {
        if FileSystem.kind(of: path) == .file, path.hasSuffix(".hkw") {
            return ModelHeader(file: try HKWFile(path: path))
        }
        let d = try Converter.describe(source: path)
        return ModelHeader(
            path: path, architecture: d.architecture, config: d.config, shapes: d.shapes, dtypes: d.dtypes,
            files: d.files)
    }
}

/// A converted pair opened once for `compat` and `check`: the base, its draft and what the base
/// carries besides weights (tokenizer, chat template, stop tokens).
public struct OpenedPair {
    public let base: any CausalModel
    public let head: any FeatureDraft
    public let extras: ModelExtras
    public let basePath: String

    /// With `memory`, the pair's memory estimate is checked against this machine from the headers
    /// first, before any weight is touched (`CheckError.doesNotFit`).
    /// With `draftVocabulary` (FR-Spec: the size, and the file of text to rank tokens by; the
    /// bundled evaluation text when nil), a HASS head drafts over the most frequent tokens only.
    public init(
        base: String, draft: String, threads: Int, activations: Activations = .default,
        memory: MemoryEstimate.Request? = nil, draftVocabulary: (size: Int, textFile: String?)? = nil
    ) throws {
        let file = try HKWFile(path: base)
        if let memory { try memory.require(base: file, draft: try HKWFile(path: draft)) }
        self.base = try Models.openBase(file: file, threads: max(1, threads), activations: activations)
        let extras = try ModelExtras(file: file)
        self.extras = extras
        let ids = try draftVocabulary.map {
            try DraftVocabulary.ids(size: $0.size, textFile: $0.textFile, extras: extras, path: base)
        }
        head = try Models.openDraft(path: draft, base: self.base, draftVocabulary: ids)
        basePath = base
    }

    /// Prompts as token ids: rendered by `template` (a text as one user turn), or plain text with
    /// the tokenizer's special tokens when `template` is nil.
    public func encode(_ prompts: [Prompt], template: ChatTemplate?) throws -> [[Int]] {
        try prompts.map { try extras.encode($0, chat: template, path: basePath) }
    }

    /// Plain texts as token ids, with the tokenizer's special tokens.
    public func encode(texts: [String]) throws -> [[Int]] {
        try encode(texts.map(Prompt.text), template: nil)
    }

    /// The head's top-1 agreement with the base along the base's greedy continuations.
    public func top1Agreement(prompts: [[Int]], continuation: Int) -> Double {
        PairCompatibility.top1Agreement(base: base, head: head, prompts: prompts, continuation: max(1, continuation))
    }

    /// The smoke test: every prompt decoded plainly and speculatively, compared token for token.
    public func check(
        prompts: [[Int]], settings: TreeSettings, maxTokens: Int, sampling: Sampling = .greedy,
        progress: (Int, SpeculationCheck.PromptResult) -> Void = { _, _ in }
    ) -> SpeculationCheck {
        SpeculationCheck.run(
            base: base, head: head, settings: settings, prompts: prompts, maxNewTokens: maxTokens,
            stopTokens: extras.stopTokens, sampling: sampling, progress: progress)
    }
}

extension Family {
    /// The architecture a converted base of this family has (the registry and the format meet here).
    public var architecture: HKWArchitecture {
        switch self {
        case .llama2, .llama3: return .llama
        case .qwen2: return .qwen2
        case .deepseekV3: return .deepseekV3
        }
    }
}

extension TreeSettings {
    /// A manifest's tree in the engine's type (the two modules meet here).
    public init(_ tree: Manifest.Tree) {
        self.init(topK: tree.topK, depth: tree.depth, totalTokens: tree.totalTokens)
    }
}

extension ExportTree {
    /// A manifest's tree in the exporter's type.
    public init(_ tree: Manifest.Tree) {
        self.init(topK: tree.topK, depth: tree.depth, totalTokens: tree.totalTokens)
    }
}
