import Foundation

/// Byte counters shared by download workers, and a printer for them: a redrawn line on a
/// terminal, a plain line every `interval` seconds otherwise, nothing when quiet.
public final class DownloadProgress: @unchecked Sendable {
    public enum Style: Sendable { case terminal, lines, quiet }

    // All mutable state is guarded by `lock`.
    private let lock = NSLock()
    private var total: UInt64 = 0
    private var done: UInt64 = 0
    private var fetched: UInt64 = 0
    private var files: [String: (done: UInt64, size: UInt64)] = [:]
    private let started = Date()
    private var lastPrint = Date.distantPast
    private let style: Style
    private let interval: Double
    private let write: @Sendable (String) -> Void

    public init(style: Style, interval: Double = 10, write: @escaping @Sendable (String) -> Void) {
        self.style = style
        self.interval = style == .terminal ? 0.25 : interval
        self.write = write
    }

    /// Bytes received from the network in this run.
    public var bytesFetched: UInt64 {
        lock.lock()
        defer { lock.unlock() }
        return fetched
    }

    func expect(_ name: String, size: UInt64, alreadyHave: UInt64) {
        lock.lock()
        files[name] = (alreadyHave, size)
        total += size
        done += alreadyHave
        lock.unlock()
    }

    func add(_ name: String, bytes: UInt64) {
        lock.lock()
        done += bytes
        fetched += bytes
        if let f = files[name] { files[name] = (f.done + bytes, f.size) }
        let now = Date()
        let due = now.timeIntervalSince(lastPrint) >= interval
        if due { lastPrint = now }
        let line = due ? render(now) : nil
        lock.unlock()
        if let line { emit(line) }
    }

    /// A file was re-fetched from the start: forget what it had counted.
    func reset(_ name: String) {
        lock.lock()
        if let f = files[name] {
            done -= min(done, f.done)
            files[name] = (0, f.size)
        }
        lock.unlock()
    }

    func finish() {
        lock.lock()
        let line = render(Date())
        lock.unlock()
        if style == .terminal { write("\r\u{1B}[2K" + line + "\n") } else if style == .lines { write(line + "\n") }
    }

    private func render(_ now: Date) -> String {
        let seconds = max(now.timeIntervalSince(started), 0.001)
        let rate = Double(fetched) / seconds
        let pct = total > 0 ? Double(done) / Double(total) * 100 : 100
        let eta = rate > 0 && total > done ? Double(total - done) / rate : 0
        let active = files.filter { $0.value.done < $0.value.size }.count
        return String(
            format: "%5.1f%%  %@ / %@  %@/s  ETA %@  (%d file%@ in progress)", pct, Self.bytes(done), Self.bytes(total),
            Self.bytes(UInt64(rate)), Self.duration(eta), active, active == 1 ? "" : "s")
    }

    private func emit(_ line: String) {
        switch style {
        case .terminal: write("\r\u{1B}[2K" + line)
        case .lines: write(line + "\n")
        case .quiet: break
        }
    }

    static func bytes(_ n: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(n)
        var u = 0
        while v >= 1024 && u < units.count - 1 {
            v /= 1024
            u += 1
        }
        return u == 0 ? "\(n) B" : String(format: "%.1f %@", v, units[u])
    }

    static func duration(_ s: Double) -> String {
        let t = Int(s.rounded())
        return t >= 3600
            ? String(format: "%dh%02dm", t / 3600, t % 3600 / 60) : String(format: "%d:%02d", t / 60, t % 60)
    }
}
