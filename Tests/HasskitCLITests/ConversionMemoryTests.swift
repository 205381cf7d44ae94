import Foundation
import Testing
import TestSupport

/// Suites that write hundreds of megabytes run one test at a time, never beside each other: the
/// converter's memory bound below is honest only while the disk is not saturated by another
/// conversion (written pages that wait for writeback stay resident).
@Suite(.serialized) struct DiskHeavyTests {}

extension DiskHeavyTests {
    /// Conversion streams: converting a ~1 GB FP8 checkpoint (DeepSeek's layout, 90 shards) keeps the
    /// converter's peak resident memory under twice its largest tensor in f32 plus 256 MiB. This holds
    /// the two fixes that once let memory grow with the model: the NaN scan of FP8 weights (it
    /// decoded whole tensors at once) and the writer's release of pages it has written.
    @Suite struct ConversionMemoryTests {
        @Test func convertingAGigabyteStaysInBoundedMemory() throws {
            let dir = Fixtures.temporaryDirectory("hasskit-rss")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let shape = FP8CheckpointGenerator.Shape(layers: 90)
            let bytes = try FP8CheckpointGenerator.write(to: dir + "/src", shape: shape)
            #expect(bytes > 900 << 20, "the generated checkpoint is \(bytes) bytes, meant to be about 1 GB")
            let result = try ChildProcess.runMeasuringPeakRSS(
                InspectCommandTests.binary,
                ["convert", dir + "/src", "--out", dir + "/out.hkw", "--type", "fp8"])
            #expect(result.status == 0)
            let bound = UInt64(2 * shape.largestTensorF32Bytes) + 256 << 20
            #expect(result.peakRSSBytes < bound, "peak RSS \(result.peakRSSBytes >> 20) MiB, bound \(bound >> 20) MiB")
            print(
                "convert of \(bytes >> 20) MiB of FP8: peak RSS \(result.peakRSSBytes >> 20) MiB (bound \(bound >> 20) MiB)"
            )
        }
    }

    /// An FP8 model runs from its mapped bytes: generating with a ~240 MB FP8 file (DeepSeek's
    /// layout, 128 × 128 block scales) keeps peak resident memory within the file's size plus
    /// 160 MiB, where a dequantized copy would hold 4 bytes per weight (about 900 MB here).
    @Suite struct FP8ResidentMemoryTests {
        @Test func anFP8ModelStaysAtItsFileSize() throws {
            let dir = Fixtures.temporaryDirectory("hasskit-rss")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            try FP8CheckpointGenerator.write(to: dir + "/src", shape: .init(layers: 20))
            let convert = try InspectCommandTests.run(
                ["convert", dir + "/src", "--out", dir + "/m.hkw", "--type", "fp8"])
            #expect(convert.status == 0, "\(convert.stderr)")
            let file = try #require(try FileManager.default.attributesOfItem(atPath: dir + "/m.hkw")[.size] as? UInt64)
            let result = try ChildProcess.runMeasuringPeakRSS(
                InspectCommandTests.binary, ["run", dir + "/m.hkw", "--prompt-ids", "1,2,3,4", "--max-tokens", "3"])
            #expect(result.status == 0)
            let bound = file + 160 << 20
            #expect(result.peakRSSBytes < bound, "peak RSS \(result.peakRSSBytes >> 20) MiB, file \(file >> 20) MiB")
            print("run of a \(file >> 20) MiB FP8 model: peak RSS \(result.peakRSSBytes >> 20) MiB")
        }
    }
}
