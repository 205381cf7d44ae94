import ArgumentParser
import CacheLayout
import Checks
import Checkpoints
import Conversion
import Export
import Foundation
import Hub
import Inference
import Jinja
import Pairs
import Platform
import Registry
import StrictJSON
import Tokenizers
import WeightFormat

/// Exit codes, one per kind of failure, so scripts can tell them apart (sysexits.h values). The
/// README's exit-code table lists the same numbers; `HasskitCLITests/ExitCodeTests` produces each.
public enum HasskitExit {
    public static let usage: Int32 = 64  // EX_USAGE: a command line hasskit cannot act on
    public static let badInput: Int32 = 65  // EX_DATAERR: a file (or a hub answer) is malformed or refused
    public static let notFound: Int32 = 66  // EX_NOINPUT: a file, pair or repository that is not there
    public static let network: Int32 = 69  // EX_UNAVAILABLE: the hub could not be reached or kept failing
    public static let software: Int32 = 70  // EX_SOFTWARE: a bug in hasskit; please report it
    public static let io: Int32 = 74  // EX_IOERR: the disk refused (full, read-only, permissions)
    public static let integrity: Int32 = 75  // EX_TEMPFAIL, used for: checksum or size mismatch
    public static let noPermission: Int32 = 77  // EX_NOPERM: the hub refused access, or the token
    public static let incompatible: Int32 = 78  // EX_CONFIG, used for: a draft does not fit its base
    public static let doesNotFit: Int32 = 79  // past sysexits.h: the model needs more memory than the machine has

    /// The exit code for an error a command threw: the one map from errors to codes.
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
            case .unsafePath, .protocolViolation, .notATree, .badLock: return badInput
            case .gated, .unauthorized, .forbidden, .invalidToken: return noPermission
            case .network, .http, .offline, .rangeIgnored: return network
            }
        case is ManifestError, is LayoutError, is TokenizerError, is JSONError:
            return badInput
        case is JinjaError:
            // A template that does not parse, fails, or raises (LLaMA-2 on two user turns in a
            // row): a problem of the model's template or of the conversation, never of hasskit.
            return badInput
        case let e as CheckError:
            // A prompt file without prompts is bad input; a model that cannot take text prompts
            // (no tokenizer, no chat format) is a command line that cannot be acted on.
            switch e.code {
            case .noPrompts, .badPrompts: return badInput
            case .noTokenizer, .noChatTemplate, .pastContext, .outsideVocabulary: return usage
            case .doesNotFit: return doesNotFit
            }
        case let e as PairError:
            switch e.code {
            case .incompleteLock, .familyMismatch: return badInput
            case .notConverted, .ambiguousType, .typeNotConverted: return usage
            }
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
        case let e as CocoaError where e.isFileError:
            // Foundation's file errors are refusals of the disk, never bugs.
            return e.code == .fileNoSuchFile || e.code == .fileReadNoSuchFile ? notFound : io
        default:
            return software
        }
    }

    /// The one line printed for `error`: the module's own description, or for Foundation's file
    /// errors the path and the reason in plain words (never `NSCocoaErrorDomain` text).
    static func message(for error: Error) -> String {
        switch error {
        case let e as CocoaError where e.isFileError:
            let path = (e.userInfo[NSFilePathErrorKey] as? String) ?? e.filePath ?? "(unknown path)"
            if let posix = e.underlying as? POSIXError {
                return "\(path): \(String(cString: strerror(posix.code.rawValue)))"
            }
            return "\(path): the file operation failed (\(e.code.rawValue))"
        case let e as CustomStringConvertible:
            return e.description
        default:
            return "\(error)"
        }
    }

    /// The chain printed under `--verbose`: the error's type and code, then each cause.
    static func details(for error: Error) -> [String] {
        var lines: [String] = []
        var current: Error? = error
        var depth = 0
        while let e = current, depth < 8 {
            let prefix = depth == 0 ? "error" : "caused by"
            lines.append("  \(prefix): \(String(reflecting: type(of: e))) \(codeName(e)) → exit \(code(for: e))")
            if depth > 0 { lines.append("    \(message(for: e))") }
            current = (e as? ErrorWithCause)?.cause ?? (e as? CocoaError)?.underlying
            depth += 1
        }
        return lines
    }

    private static func codeName(_ e: Error) -> String {
        let mirror = Mirror(reflecting: e)
        for child in mirror.children where child.label == "code" || child.label == "kind" {
            let text = "\(child.value)"
            return "." + (text.split(separator: "(").first.map(String.init) ?? text)
        }
        return ""
    }
}

extension CocoaError {
    var underlying: Error? { userInfo[NSUnderlyingErrorKey] as? Error }
}

/// Options every command takes.
struct Diagnostics: ParsableArguments {
    @Flag(
        name: .customLong("verbose"), help: "On failure, also print the error's kind, its code and the chain of causes."
    )
    var verbose = false
}

/// Errors that ArgumentParser raises itself (`--help` reaches `run()` as one of its internal types).
private func isArgumentParsers(_ e: Error) -> Bool {
    String(reflecting: type(of: e)).hasPrefix("ArgumentParser.")
}

extension Hasskit {
    /// Parses the command line, runs the command and turns whatever it throws into one message
    /// and one exit code, in this one place. Commands throw their modules' errors as they are.
    public static func main(_ arguments: [String]? = nil) -> Never {
        let arguments = arguments ?? Array(CommandLine.arguments.dropFirst())
        ProcessMemory.keepFreedMemoryForReuse()
        var command: any ParsableCommand
        do {
            command = try parseAsRoot(arguments)
        } catch {
            exit(withError: error)
        }
        do {
            try command.run()
            exit()
        } catch let e where e is ExitCode || e is CleanExit || e is ValidationError || isArgumentParsers(e) {
            // ArgumentParser's own outcomes (help, version, usage errors) are rendered by it.
            exit(withError: e)
        } catch {
            Console.error("error: \(HasskitExit.message(for: error))")
            let code = HasskitExit.code(for: error)
            if arguments.contains("--verbose") || (command is Convert && arguments.contains("-v")) {
                for line in HasskitExit.details(for: error) { Console.log(line) }
            }
            if code == HasskitExit.software {
                Console.log(
                    "hasskit: this is a bug in hasskit (exit 70); please report it with the command line and the message above"
                )
            }
            Foundation.exit(code)
        }
    }
}
