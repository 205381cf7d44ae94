import ArgumentParser
import Foundation
import Inference

/// How the bundled engine runs, for every command that runs a model (`run`, `check`, `demo`,
/// `eval`): its worker threads and what its quantized products multiply.
struct EngineOptions: ParsableArguments {
    @Option(help: "Worker threads (default: all cores; more than the cores is capped to them).")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    @Option(
        help: """
            What quantized products multiply: int8 (inputs quantized to 8 bits, as llama.cpp does; \
            fast, near-tied tokens may swap) or f32 (exact, slower). HASSKIT_ACTIVATIONS sets the default.
            """)
    var activations: Activations = .default

    func validate() throws {
        guard threads > 0 else { throw ValidationError("--threads must be positive") }
    }

    /// The thread count to run with: `--threads`, capped to the cores (spinning workers beyond
    /// them only take turns on the same cores), with a note on stderr when capped.
    var effectiveThreads: Int {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        if threads > cores {
            Console.log("note: " + "--threads \(threads) is more than the \(cores) cores; running with \(cores)")
            return cores
        }
        return threads
    }
}

/// FR-Spec's draft vocabulary, for the commands that draft (`check`, `run --draft`).
struct DraftVocabularyOptions: ParsableArguments {
    @Option(
        name: .customLong("draft-vocab"),
        help: ArgumentHelp(
            "FR-Spec: the head proposes only the N most frequent tokens (ranked over --draft-vocab-text, default the bundled evaluation text); lossless.",
            valueName: "N"))
    var size: Int?

    @Option(
        name: .customLong("draft-vocab-text"),
        help: ArgumentHelp("The text that ranks tokens for --draft-vocab.", valueName: "FILE"))
    var textFile: String?

    func validate() throws {
        if let size, size < 1 { throw ValidationError("--draft-vocab must be positive") }
    }

    /// What `OpenedPair` and `DraftVocabulary.ids` take; nil without --draft-vocab.
    var request: (size: Int, textFile: String?)? { size.map { ($0, textFile) } }
}

extension Activations: ExpressibleByArgument {}
