internal import CZstd

/// A streaming zstd compressor (wraps `ZSTD_compressStream2`), multi-threaded when the library
/// supports it.
final class ZstdCompressor {
    private let context: OpaquePointer
    private var output: [UInt8]
    /// Worker threads actually in use (0 when the library is single-threaded).
    let workers: Int

    init(level: Int, threads: Int) throws(HKWError) {
        guard let c = ZSTD_createCCtx() else {
            throw HKWError(.writer("zstd: cannot create a compression context"), path: "")
        }
        context = c
        output = [UInt8](repeating: 0, count: ZSTD_CStreamOutSize())
        _ = ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, Int32(level))
        _ = ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1)
        // Multi-threading is optional in libzstd: a build without it rejects the parameter.
        workers =
            threads > 1 && ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_nbWorkers, Int32(threads))) == 0 ? threads : 0
    }

    deinit { ZSTD_freeCCtx(context) }

    /// Compresses `input` (ending the frame when `end`), passing compressed bytes to `sink`.
    func compress(
        _ input: UnsafeRawBufferPointer, end: Bool, sink: (UnsafeRawBufferPointer) throws(HKWError) -> Void
    ) throws(HKWError) {
        var inBuffer = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        let mode = end ? ZSTD_e_end : ZSTD_e_continue
        while true {
            var produced = 0
            var remaining = 0
            let failure: HKWError? = output.withUnsafeMutableBytes { out in
                var outBuffer = ZSTD_outBuffer(dst: out.baseAddress, size: out.count, pos: 0)
                remaining = ZSTD_compressStream2(context, &outBuffer, &inBuffer, mode)
                if ZSTD_isError(remaining) != 0 {
                    return HKWError(.writer("zstd: \(String(cString: ZSTD_getErrorName(remaining)))"), path: "")
                }
                produced = outBuffer.pos
                return nil
            }
            if let failure { throw failure }
            if produced > 0 {
                let copy = Array(output[0..<produced])
                let f: HKWError? = copy.withUnsafeBytes { raw in
                    do throws(HKWError) { try sink(raw) } catch { return error }
                    return nil
                }
                if let f { throw f }
            }
            let finished = end ? remaining == 0 : inBuffer.pos == inBuffer.size
            if finished { return }
        }
    }
}

/// A streaming zstd decompressor (wraps `ZSTD_decompressStream`).
final class ZstdDecompressor {
    private let context: OpaquePointer
    private var output: [UInt8]
    /// True once a frame has ended exactly at the end of the input given so far.
    private(set) var frameComplete = false

    init() throws(HKWError) {
        guard let d = ZSTD_createDCtx() else {
            throw HKWError(.writer("zstd: cannot create a decompression context"), path: "")
        }
        context = d
        output = [UInt8](repeating: 0, count: ZSTD_DStreamOutSize())
        // Refuse frames that ask for more than a 2 GiB window (a zip-bomb guard; we write 8-128 MiB).
        _ = ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, 31)
    }

    deinit { ZSTD_freeDCtx(context) }

    /// Decompresses `input`, passing decompressed bytes to `sink`.
    func decompress(
        _ input: UnsafeRawBufferPointer, path: String, sink: (UnsafeRawBufferPointer) throws(HKWError) -> Void
    ) throws(HKWError) {
        var inBuffer = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        repeat {
            var produced = 0
            var hint = 0
            let failure: HKWError? = output.withUnsafeMutableBytes { out in
                var outBuffer = ZSTD_outBuffer(dst: out.baseAddress, size: out.count, pos: 0)
                hint = ZSTD_decompressStream(context, &outBuffer, &inBuffer)
                if ZSTD_isError(hint) != 0 {
                    return HKWError(.invalidHeader("zstd: \(String(cString: ZSTD_getErrorName(hint)))"), path: path)
                }
                produced = outBuffer.pos
                return nil
            }
            if let failure { throw failure }
            frameComplete = hint == 0
            if produced > 0 {
                let copy = Array(output[0..<produced])
                let f: HKWError? = copy.withUnsafeBytes { raw in
                    do throws(HKWError) { try sink(raw) } catch { return error }
                    return nil
                }
                if let f { throw f }
            } else if inBuffer.pos == inBuffer.size {
                return
            }
        } while inBuffer.pos < inBuffer.size || !frameComplete
    }
}
