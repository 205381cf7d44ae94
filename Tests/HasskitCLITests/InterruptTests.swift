import Foundation
import Platform
import Testing
import TestSupport

/// Interrupting a conversion leaves neither the output nor a temporary file. The test sends
/// SIGTERM: SIGINT is ignored by processes started in the background of a non-interactive shell
/// (as CI runs them), and hasskit keeps an inherited "ignore", as `nohup` expects; the same
/// handler serves SIGINT, SIGTERM and SIGHUP.
@Suite struct InterruptTests {
    /// A 1 GiB BF16 checkpoint of zeros as a sparse file: it takes no disk space, and converting
    /// it takes long enough to be interrupted.
    static func largeSparseCheckpoint() throws -> String {
        let dir = Fixtures.temporaryDirectory("hasskit-sigint")
        var b = SafetensorsBuilder()
        b.add("model.layers.0.mlp.up_proj.weight", dtype: "BF16", shape: [16384, 32768], bytes: [])
        var image = b.build()
        // The builder wrote data_offsets [0, 0]; patch END to the real size.
        let header = String(decoding: image[8...], as: UTF8.self)
            .replacingOccurrences(of: "\"data_offsets\":[0,0]", with: "\"data_offsets\":[0,1073741824]")
        var bytes = Array(header.utf8)
        while bytes.count % 8 != 0 { bytes.append(0x20) }
        image = withUnsafeBytes(of: UInt64(bytes.count).littleEndian) { Array($0) } + bytes
        let path = dir + "/model.safetensors"
        FileManager.default.createFile(atPath: path, contents: Data(image))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: UInt64(image.count) + (1 << 30))
        try handle.close()
        let config =
            #"{"architectures": ["LlamaForCausalLM"], "hidden_size": 32768, "num_attention_heads": 256, "num_hidden_layers": 1}"#
        FileManager.default.createFile(atPath: dir + "/config.json", contents: Data(config.utf8))
        return dir
    }

    @Test func interruptedConversionLeavesNothing() throws {
        let dir = try Self.largeSparseCheckpoint()
        let out = Fixtures.temporaryDirectory("hasskit-sigint-out")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: InspectCommandTests.binary)
        p.arguments = ["convert", dir, "--out", out + "/model.hkw", "--type", "q8_0"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        // Wait until the temporary file exists, then interrupt.
        var sawPartial = false
        for _ in 0..<200 where !sawPartial {
            usleep(20_000)
            sawPartial = ((try? FileSystem.contents(of: out)) ?? []).contains { $0.contains(".partial-") }
        }
        p.terminate()
        p.waitUntilExit()
        #expect(sawPartial, "the conversion never started writing")
        #expect(p.terminationReason == .uncaughtSignal, "the conversion finished before it could be interrupted")
        let left = try FileSystem.contents(of: out)
        #expect(left.isEmpty, "left behind: \(left)")
        try? FileManager.default.removeItem(atPath: dir)
    }
}
