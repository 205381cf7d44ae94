import Checkpoints
import WeightFormat

/// Why a conversion was refused or failed. Every case names the tensor or file involved.
public struct ConversionError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        case unknownFamily(String)
        case unexpectedTensor(String, family: String)
        case missingTensor(String)
        case missingLayer(Int, available: String)
        case unsupportedType(String)
        case unsupportedElementType(tensor: String, dtype: String)
        case nonFiniteValue(tensor: String, index: Int)
        case overflow(tensor: String, type: String)
        case outputExists
        case notEnoughSpace(needed: UInt64, available: UInt64)
        case config(String)
        case draftBase(String)
    }

    public var code: Code
    /// The source or output path concerned.
    public var path: String

    public init(_ code: Code, path: String) {
        self.code = code
        self.path = path
    }

    public var description: String {
        let reason: String
        switch code {
        case let .unknownFamily(m): reason = "cannot tell which model family this is: \(m)"
        case let .unexpectedTensor(t, f):
            reason = "tensor \"\(t)\" is not part of a \(f) checkpoint (refusing to guess, as a strict loader would)"
        case let .missingTensor(t): reason = "required tensor \"\(t)\" is missing"
        case let .missingLayer(l, available): reason = "there is no layer \(l) (the checkpoint has layers \(available))"
        case let .unsupportedType(t):
            reason =
                "unsupported output type \"\(t)\" (supported: \(ConversionType.allCases.map(\.rawValue).joined(separator: ", ")))"
        case let .unsupportedElementType(t, d):
            reason = "tensor \"\(t)\" has element type \(d), which hasskit does not convert"
        case let .nonFiniteValue(t, i):
            reason = "tensor \"\(t)\" holds a NaN or infinity at element \(i) (a corrupt weight)"
        case let .overflow(t, type): reason = "tensor \"\(t)\" has values outside the range of \(type); use bf16 or f32"
        case .outputExists: reason = "already exists; pass --force to replace it"
        case let .notEnoughSpace(n, a): reason = "needs about \(n) bytes of free space, \(a) available"
        case let .config(m): reason = "config.json: \(m)"
        case let .draftBase(m): reason = m
        }
        return "\(path): \(reason)"
    }
}

/// What `hasskit convert --type` accepts.
public enum ConversionType: String, Sendable, CaseIterable {
    case f32, f16, bf16, q8_0, q4_0, q5_0, q4_k, q6_k, q4_k_m, fp8
}
