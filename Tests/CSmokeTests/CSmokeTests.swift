import CCurl
import CKernels
import COpenBLAS
import CZstd
import Testing

/// Link-and-call checks for the system libraries, and the C kernels' fast paths against their
/// portable versions on awkward lengths.
@Suite struct CSmokeTests {
    @Test func libcurlLinks() throws {
        let info = try #require(ccurl_version_info())
        #expect(info.pointee.version_num >= 0x07_3A_00)  // 7.58: HTTP/2 and the options we use
    }

    @Test func zstdRoundTrips() {
        let input = [UInt8]((0..<10_000).map { UInt8(truncatingIfNeeded: $0 / 7) })
        var compressed = [UInt8](repeating: 0, count: ZSTD_compressBound(input.count))
        let n = ZSTD_compress(&compressed, compressed.count, input, input.count, 3)
        #expect(ZSTD_isError(n) == 0)
        var output = [UInt8](repeating: 0, count: input.count)
        let m = ZSTD_decompress(&output, output.count, compressed, n)
        #expect(m == input.count)
        #expect(output == input)
        #expect(czstd_version_number() >= 10400)
    }

    @Test func openBLASMultiplies() {
        // [2x3] · [3x2]
        let a: [Float] = [1, 2, 3, 4, 5, 6]
        let b: [Float] = [7, 8, 9, 10, 11, 12]
        var c = [Float](repeating: 0, count: 4)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 2, 2, 3, 1, a, 3, b, 2, 0, &c, 2)
        #expect(c == [58, 64, 139, 154])
    }

    static let lengths = [0, 1, 7, 8, 9, 31, 32, 33, 4103]

    static func randomBits(_ n: Int, seed: UInt64) -> [UInt32] {
        var s = seed
        return (0..<n).map { _ in
            s = s &* 6364136223846793005 &+ 1442695040888963407
            return UInt32(truncatingIfNeeded: s >> 29)
        }
    }

    @Test(arguments: lengths)
    func halfConversionsMatchGeneric(_ n: Int) {
        let halves = Self.randomBits(n, seed: 1).map { UInt16(truncatingIfNeeded: $0) }
        var fast = [Float](repeating: 0, count: n)
        var generic = [Float](repeating: 0, count: n)
        ck_f16_to_f32(halves, &fast, n)
        ck_f16_to_f32_generic(halves, &generic, n)
        #expect(zip(fast, generic).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) })
        ck_bf16_to_f32(halves, &fast, n)
        ck_bf16_to_f32_generic(halves, &generic, n)
        #expect(fast.map(\.bitPattern) == generic.map(\.bitPattern))
        // Swift's Float16 is an independent reference for the widening.
        for (h, f) in zip(halves, fast.indices) where !Float16(bitPattern: h).isNaN {
            var one: Float = 0
            ck_f16_to_f32_generic([h], &one, 1)
            #expect(one == Float(Float16(bitPattern: h)), "f16 \(h) at \(f)")
        }
    }

    @Test(arguments: lengths)
    func narrowingMatchesGenericAndSwift(_ n: Int) {
        let floats = Self.randomBits(n, seed: 2).map { Float(bitPattern: $0) }
        var fast = [UInt16](repeating: 0, count: n)
        var generic = [UInt16](repeating: 0, count: n)
        ck_f32_to_bf16(floats, &fast, n)
        ck_f32_to_bf16_generic(floats, &generic, n)
        #expect(fast == generic)
        ck_f32_to_f16(floats, &fast, n)
        ck_f32_to_f16_generic(floats, &generic, n)
        for i in 0..<n {
            if floats[i].isNaN {
                #expect(Float16(bitPattern: fast[i]).isNaN && Float16(bitPattern: generic[i]).isNaN)
            } else {
                #expect(fast[i] == generic[i], "f32 bits \(floats[i].bitPattern)")
                #expect(generic[i] == Float16(floats[i]).bitPattern, "Swift Float16 of \(floats[i])")
            }
        }
    }

    @Test func touchSumsEveryByte() {
        // 32-byte chunks are summed as 64-bit words, the tail byte by byte.
        let words =
            [UInt8](repeating: 0, count: 32) + [1, 0, 0, 0, 0, 0, 0, 0] + [UInt8](repeating: 0, count: 24) + [5]
        #expect(ck_touch_bytes(words, words.count) == 6)
        let ones = [UInt8](repeating: 0, count: 64) + [3]
        #expect(ck_touch_bytes(ones, ones.count) == 3)
    }
}
