import Foundation
import Platform
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct PlatformTests {
    static func tempDir() -> String {
        var template = Array("/tmp/hasskit-platform-XXXXXX".utf8CString)
        return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }

    /// A download lock whose holder died (killed, crashed) is taken over at once: flock locks die
    /// with their process, unlike lock files that huggingface_hub users on NFS find stuck.
    @Test func aLockHeldByAProcessThatDiedIsTakenOver() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/flock") else {
            print("skipped: /usr/bin/flock (util-linux) is not installed, so no other process can hold the lock")
            return
        }
        let path = Self.tempDir() + "/blob.lock"
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        holder.arguments = ["-o", path, "sleep", "30"]  // -o: flock itself holds the lock, not sleep
        try holder.run()
        // Wait until the other process holds it.
        let fd = open(path, O_RDWR | O_CREAT, 0o644)
        defer { close(fd) }
        var held = false
        for _ in 0..<500 where !held {
            if flock(fd, LOCK_EX | LOCK_NB) == 0 {
                flock(fd, LOCK_UN)
                usleep(10_000)
            } else {
                held = true
            }
        }
        #expect(held, "the other process never took the lock")
        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        let started = Date()
        let lock = try FileLock(path: path)
        #expect(Date().timeIntervalSince(started) < 5, "the lock of a dead process was waited on")
        withExtendedLifetime(lock) {}
    }

    @Test func atomicWriteCommitsOnlyWhenAsked() throws {
        let dir = Self.tempDir()
        let path = dir + "/out.bin"
        let w = try AtomicFileWriter(path: path)
        try w.write([1, 2, 3])
        #expect(FileSystem.kind(of: path) == .missing)
        #expect(FileSystem.kind(of: w.temporaryPath) == .file)
        try w.overwrite([9], at: 1)
        try w.commit()
        #expect(try FileSystem.readFile(path) == [1, 9, 3])
        #expect(try FileSystem.contents(of: dir) == ["out.bin"])
    }

    @Test func droppedWriterRemovesItsTemporaryFile() throws {
        let dir = Self.tempDir()
        do {
            let w = try AtomicFileWriter(path: dir + "/x")
            try w.write([1])
        }
        #expect(try FileSystem.contents(of: dir).isEmpty)
    }

    @Test func mappingAnEmptyFileGivesAnEmptyView() throws {
        let dir = Self.tempDir()
        let w = try AtomicFileWriter(path: dir + "/empty")
        try w.commit()
        let s = try ByteStorage(mapping: dir + "/empty")
        #expect(s.count == 0)
        #expect(s.view.u8(at: 0) == nil)
    }

    @Test func missingFileIsReportedWithItsPath() {
        do {
            _ = try ByteStorage(mapping: "/nonexistent/hasskit")
            Issue.record("mapped a missing file")
        } catch {
            #expect(error.isNotFound)
            #expect(error.description.contains("/nonexistent/hasskit"))
        }
    }

    @Test func viewsAreBoundsCheckedWithoutOverflow() {
        let v = ByteView([1, 2, 3, 4, 5, 6, 7, 8, 9])
        #expect(v.u64(at: 0) == 0x0807_0605_0403_0201)
        #expect(v.u64(at: 2) == nil)
        #expect(v.u32(at: Int.max) == nil)
        #expect(v.slice(start: 1, length: Int.max) == nil)
        #expect(v.slice(start: -1, length: 1) == nil)
        #expect(v.slice(start: 9, length: 0)?.count == 0)
        let s = v.slice(start: 2, length: 3)
        #expect(s?.array == [3, 4, 5])
        #expect(s?.u8(at: 3) == nil)
        #expect(v.firstIndex(of: 5, from: 0) == 4)
    }

    @Test func pathHelpers() {
        #expect(FileSystem.split("/a/b/c.bin") == ("/a/b", "c.bin"))
        #expect(FileSystem.split("c.bin") == (".", "c.bin"))
        #expect(FileSystem.split("/c") == ("/", "c"))
        #expect(FileSystem.join("/a/", "b") == "/a/b")
        #expect((try? FileSystem.availableSpace(at: "/tmp")) ?? 0 > 0)
        #expect(FileSystem.residentMemory() > 0)
    }
}
