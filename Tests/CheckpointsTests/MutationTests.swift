import Checkpoints
import Platform
import Testing
import TestSupport

/// No input crashes a reader: every truncation of small valid files, and random byte flips.
/// A crash here kills the test process, so passing means every variant was handled.
@Suite struct MutationTests {
    static let seeds = [
        "hostile/ok_torch_minimal.bin", "hostile/ok_legacy_minimal.bin", "hostile/ok_shared_storage.bin",
        "hostile/ok_noncontiguous.bin", "hostile/ok_nested_state_dict.bin", "hostile/ok_protocol4.bin",
        "hostile/ok_st_zero_size_and_scalar.safetensors", "hostile/ok_st_unpadded_header.safetensors",
        "dtypes/fp8_e4m3fn_all_codes.safetensors",
    ]

    /// Opens an in-memory image with the reader its first bytes select, and decodes what loads.
    static func exercise(_ bytes: [UInt8]) {
        let view = ByteView(bytes, label: "mutant")
        do {
            let tensors: [Tensor]
            if bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) || bytes.starts(with: [0x80, 0x02]) {
                tensors = try TorchCheckpoint(view: view, path: "mutant").tensors
            } else {
                tensors = try SafetensorsFile(view: view, path: "mutant").tensors
            }
            for t in tensors where t.dtype.isDecodableToFloat { _ = try t.floats() }
        } catch {
            // Any clean error is fine.
        }
    }

    @Test(arguments: seeds)
    func everyTruncation(_ relative: String) throws {
        let bytes = try FileSystem.readFile(Fixtures.path(relative))
        for n in 0..<bytes.count { Self.exercise(Array(bytes[0..<n])) }
    }

    @Test(arguments: seeds)
    func randomByteFlips(_ relative: String) throws {
        let bytes = try FileSystem.readFile(Fixtures.path(relative))
        var rng = SplitMix64(seed: 0x4841_5353 &+ UInt64(bytes.count))
        for _ in 0..<1500 {
            var m = bytes
            let flips = 1 + Int(rng.next() % 4)
            for _ in 0..<flips {
                let i = Int(rng.next() % UInt64(m.count))
                m[i] = UInt8(truncatingIfNeeded: rng.next())
            }
            Self.exercise(m)
        }
    }
}

/// A small deterministic generator so failures reproduce.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
