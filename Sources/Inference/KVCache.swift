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

    /// Keeps the slots `start + offsets[i]` as slots `start + i` (the accepted path of a tree)
    /// and forgets the rest.
    public func compact(from start: Int, keeping offsets: [Int]) {
        for l in keys.indices {
            for (i, o) in offsets.enumerated() where o != i {
                let src = (start + o) * width, dst = (start + i) * width
                for j in 0..<width {
                    keys[l][dst + j] = keys[l][src + j]
                    values[l][dst + j] = values[l][src + j]
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
            values[l].removeLast((count - length) * width)
        }
        count = length
    }
}
