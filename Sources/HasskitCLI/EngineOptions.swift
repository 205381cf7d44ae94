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

extension Activations: ExpressibleByArgument {}
