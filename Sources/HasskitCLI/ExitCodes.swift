import ArgumentParser
import Checkpoints
import Export
import Hub
import Inference
import Registry
import Conversion
import Platform
import WeightFormat

/// Exit codes, one per kind of failure, so scripts can tell them apart (sysexits.h values).
public enum HasskitExit {
    public static let usage: Int32 = 64  // EX_USAGE (ArgumentParser's validation failures)
    public static let badInput: Int32 = 65  // EX_DATAERR: a file is malformed or refused
    public static let notFound: Int32 = 66  // EX_NOINPUT
    public static let network: Int32 = 69  // EX_UNAVAILABLE
    public static let software: Int32 = 70  // EX_SOFTWARE: a bug; please report
    public static let io: Int32 = 74  // EX_IOERR
    public static let integrity: Int32 = 75  // checksum or size mismatch
    public static let incompatible: Int32 = 78  // a draft does not fit its base

    /// The exit code for an error thrown by a command.
    static func code(for error: Error) -> Int32 {
        switch error {
        case let e as CheckpointError:
            switch e.code {
            case .notFound: return notFound
            case .io: return io
            default: return badInput
            }
        case let e as HKWError:
            switch e.code {
            case .notFound: return notFound
            case .io: return io
            case .checksumMismatch: return integrity
            default: return badInput
            }
        case let e as ConversionError:
            switch e.code {
            case .draftBase: return incompatible
            case .notEnoughSpace: return io
            default: return badInput
            }
        case let e as HubError:
            switch e.code {
            case .integrity, .sizeMismatch: return integrity
            case .notEnoughSpace, .io: return io
            case .notFound: return notFound
            case .unsafePath, .protocolViolation: return badInput
            default: return network
            }
        case is ManifestError:
            return badInput
        case let e as InferenceError:
            return e.kind == .incompatible ? incompatible : badInput
        case let e as SystemError:
            return e.isNotFound ? notFound : io
        case let e as ExportError:
            switch e.kind {
            case .incompatible: return incompatible
            case .badInput: return badInput
            case .outputExists: return usage
            case .io: return io
            }
        default:
            return software
        }
    }
}

/// Prints the one-line message for `error` to stderr and exits with its code.
func fail(_ error: Error) -> ExitCode {
    let message: String
    switch error {
    case let e as CustomStringConvertible: message = e.description
    default: message = "\(error)"
    }
    Console.error("error: \(message)")
    return ExitCode(HasskitExit.code(for: error))
}
