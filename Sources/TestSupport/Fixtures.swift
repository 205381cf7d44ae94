import Foundation
import Platform
import StrictJSON

/// Paths to the committed test fixtures (`Tests/Fixtures`, described in `Tests/Fixtures/README.md`).
public enum Fixtures {
    /// Absolute path of the fixtures folder, found relative to this source file so tests work
    /// from any working directory.
    public static let root: String = {
        let file = #filePath
        var parts = file.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)  // TestSupport/Fixtures.swift, Sources
        return parts.joined(separator: "/") + "/Tests/Fixtures"
    }()

    /// Absolute path of `relative` inside the fixtures folder.
    public static func path(_ relative: String) -> String { root + "/" + relative }

    /// The team's shared fixtures (`../shared/fixtures` beside the package, which CI has too, or
    /// `HASSKIT_SHARED_FIXTURES`): large real files that are not committed here. nil when absent,
    /// so tests that need them are skipped and say so.
    public static let shared: String? = {
        let candidates = [
            ProcessInfo.processInfo.environment["HASSKIT_SHARED_FIXTURES"],
            root.split(separator: "/", omittingEmptySubsequences: false).dropLast(2).joined(separator: "/")
                + "/../shared/fixtures",
        ]
        return candidates.compactMap { $0 }.first { FileManager.default.fileExists(atPath: $0 + "/MANIFEST.md") }
    }()

    /// Parses a JSON fixture.
    public static func json(_ relative: String) throws -> JSONValue {
        try JSONParser(maxDepth: 256).parse(try FileSystem.readFile(path(relative)))
    }

    /// A fresh empty temporary folder, removed with everything in it when the test process exits
    /// (a run of the suite made about 6,000 of them; left behind, they once filled this machine's
    /// disk). A test that wants its folder gone sooner removes it itself.
    public static func temporaryDirectory(_ label: String = "hasskit-test") -> String {
        let template = "/tmp/\(label)-XXXXXX"
        var bytes = Array(template.utf8CString)
        let made = bytes.withUnsafeMutableBufferPointer { buf -> String? in
            guard let base = buf.baseAddress, let p = mkdtemp(base) else { return nil }
            return String(cString: p)
        }
        guard let made else { return "/tmp" }
        TemporaryFolders.shared.add(made)
        return made
    }
}

/// The folders `Fixtures.temporaryDirectory` made, removed at exit.
final class TemporaryFolders: @unchecked Sendable {
    static let shared: TemporaryFolders = {
        atexit { TemporaryFolders.shared.removeAll() }
        return TemporaryFolders()
    }()
    private let lock = NSLock()
    private var paths: [String] = []

    func add(_ path: String) {
        lock.lock()
        paths.append(path)
        lock.unlock()
    }

    func removeAll() {
        lock.lock()
        let all = paths
        paths = []
        lock.unlock()
        // Only folders this process made under /tmp, whatever a test did with them since.
        for p in all where p.hasPrefix("/tmp/") && !p.contains("/../") {
            try? FileManager.default.removeItem(atPath: p)
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
