/// Keys and values of the positions processed so far, per layer. `truncate` rolls back, which
/// the speculative decoder uses to drop rejected draft positions.
public final class KVCache {
    var keys: [[Float]]
    var values: [[Float]]
    /// Positions held.
    public internal(set) var count = 0
    let width: Int

    init(layers: Int, width: Int) {
        keys = Array(repeating: [], count: layers)
        values = Array(repeating: [], count: layers)
        self.width = width
    }

    /// Forgets every position from `length` on.
    public func truncate(to length: Int) {
        precondition(length <= count)
        for l in keys.indices {
            keys[l].removeLast((count - length) * width)
            values[l].removeLast((count - length) * width)
        }
        count = length
    }
}
