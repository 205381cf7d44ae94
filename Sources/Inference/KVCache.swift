/// Keys and values of the positions processed so far, per layer. `truncate` rolls back, which
/// the speculative decoder uses to drop rejected draft positions.
public final class KVCache {
    var keys: [[Float]]
    var values: [[Float]]
    /// Positions held.
    public internal(set) var count = 0
    /// Floats per position of keys and of values (MLA's keys are wider than its values).
    let width: Int
    let valueWidth: Int

    init(layers: Int, width: Int, valueWidth: Int? = nil) {
        keys = Array(repeating: [], count: layers)
        values = Array(repeating: [], count: layers)
        self.width = width
        self.valueWidth = valueWidth ?? width
    }

    /// Keeps the slots `start + offsets[i]` as slots `start + i` (the accepted path of a tree)
    /// and forgets the rest.
    public func compact(from start: Int, keeping offsets: [Int]) {
        for l in keys.indices {
            for (i, o) in offsets.enumerated() where o != i {
                for j in 0..<width { keys[l][(start + i) * width + j] = keys[l][(start + o) * width + j] }
                for j in 0..<valueWidth {
                    values[l][(start + i) * valueWidth + j] = values[l][(start + o) * valueWidth + j]
                }
            }
        }
        truncate(to: start + offsets.count)
    }

    /// Forgets every position from `length` on.
    public func truncate(to length: Int) {
        precondition(length <= count)
        for l in keys.indices {
            keys[l].removeLast((count - length) * width)
            values[l].removeLast((count - length) * valueWidth)
        }
        count = length
    }
}
