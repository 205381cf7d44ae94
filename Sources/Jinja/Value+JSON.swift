import StrictJSON

extension Value {
    /// A JSON document as template data (a conversation file, a context).
    public init(json: JSONValue) {
        switch json {
        case .null: self = .none
        case let .bool(b): self = .bool(b)
        case let .number(text):
            if let i = Int(text) {
                self = .int(i)
            } else {
                self = .double(Double(text) ?? .nan)
            }
        case let .string(s): self = .string(s)
        case let .array(items): self = .list(items.map(Value.init(json:)))
        case let .object(members): self = .dict(Dict(members.map { ($0.0, Value(json: $0.1)) }))
        }
    }
}
