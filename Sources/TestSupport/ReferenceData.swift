import StrictJSON

/// Strict readers for reference JSON: a field that is missing, empty or of the wrong type is an
/// error, never an empty array that lets a comparison pass without comparing anything.
public struct ReferenceDataError: Error, CustomStringConvertible {
    public var description: String
}

extension JSONValue {
    /// The non-empty integer array at `key`.
    public func ints(_ key: String) throws -> [Int] {
        guard let a = self[key]?.arrayValue, !a.isEmpty else {
            throw ReferenceDataError(description: "\(key): missing or empty")
        }
        return try a.map { v in
            guard let i = v.intValue else {
                throw ReferenceDataError(description: "\(key): \(v.serialized()) is not an integer")
            }
            return i
        }
    }

    /// The non-empty number array at `key`, as floats.
    public func floats(_ key: String) throws -> [Float] {
        try JSONValue.floats(self[key], key)
    }

    /// The non-empty array of non-empty number arrays at `key`.
    public func floatRows(_ key: String) throws -> [[Float]] {
        guard let a = self[key]?.arrayValue, !a.isEmpty else {
            throw ReferenceDataError(description: "\(key): missing or empty")
        }
        return try a.enumerated().map { try JSONValue.floats($0.element, "\(key)[\($0.offset)]") }
    }

    /// The non-empty array of non-empty integer arrays at `key`.
    public func intRows(_ key: String) throws -> [[Int]] {
        guard let a = self[key]?.arrayValue, !a.isEmpty else {
            throw ReferenceDataError(description: "\(key): missing or empty")
        }
        return try a.enumerated().map { row in
            guard let r = row.element.arrayValue, !r.isEmpty else {
                throw ReferenceDataError(description: "\(key)[\(row.offset)]: missing or empty")
            }
            return try r.map { v in
                guard let i = v.intValue else {
                    throw ReferenceDataError(description: "\(key)[\(row.offset)]: \(v.serialized()) is not an integer")
                }
                return i
            }
        }
    }

    static func floats(_ v: JSONValue?, _ what: String) throws -> [Float] {
        guard let a = v?.arrayValue, !a.isEmpty else {
            throw ReferenceDataError(description: "\(what): missing or empty")
        }
        return try a.map { x in
            guard let d = x.doubleValue else {
                throw ReferenceDataError(description: "\(what): \(x.serialized()) is not a number")
            }
            return Float(d)
        }
    }
}

/// The largest absolute difference between two vectors of the same, non-zero length.
public func maxAbsDifference(_ a: [Float], _ b: [Float]) throws -> Float {
    guard !a.isEmpty, a.count == b.count else {
        throw ReferenceDataError(description: "vectors of \(a.count) and \(b.count) values cannot be compared")
    }
    var worst: Float = 0
    for (x, y) in zip(a, b) {
        let d = abs(x - y)
        if d.isNaN { return .nan }
        worst = max(worst, d)
    }
    return worst
}
