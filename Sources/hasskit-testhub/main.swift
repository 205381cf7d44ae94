// A loopback imitation of the Hugging Face hub for benchmarks and manual tests (not installed by
// `make build`): serves repository `org/bench` with --shards files (default 1) of --size-mib MiB of
// random bytes each, LFS-style (`/resolve/` redirects to a second "CDN" port, as the hub redirects
// to its storage), optionally limited to --rate-mibps MiB/s (or --rate-mbps MB/s) per connection.
//
//   swift build -c release --product hasskit-testhub
//   .build/release/hasskit-testhub --size-mib 1024 [--shards 4] [--rate-mibps 100]
//
// It prints `ENDPOINT <url>`, then per weight file `RESOLVE_URL <hub url>` (what `curl -L` and
// aria2c fetch), `FILE_URL <cdn url>` and `SHA256 <digest>`, and serves until killed.
import Foundation
import LoopbackHub

var sizeMiB = 1024
var shards = 1
var rate: Int?
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let a = arguments.next() {
    switch a {
    case "--size-mib": sizeMiB = Int(arguments.next() ?? "") ?? sizeMiB
    case "--shards": shards = max(1, Int(arguments.next() ?? "") ?? shards)
    case "--rate-mbps": rate = Int(arguments.next() ?? "").map { $0 * 1_000_000 }
    case "--rate-mibps": rate = Int(arguments.next() ?? "").map { $0 << 20 }
    default:
        FileHandle.standardError.write(
            Data("usage: hasskit-testhub [--size-mib N] [--shards N] [--rate-mibps N | --rate-mbps N]\n".utf8))
        exit(64)
    }
}
/// `mib` MiB of random bytes, the stream continuing from `state`.
func randomBytes(_ mib: Int, _ state: inout UInt64) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: mib << 20)
    bytes.withUnsafeMutableBytes { raw in
        let words = raw.bindMemory(to: UInt64.self)
        for i in words.indices {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            words[i] = state ^ (state >> 29)
        }
    }
    return bytes
}
let names =
    shards == 1
    ? ["model.safetensors"]
    : (1...shards).map { "model-\(String(format: "%05d", $0))-of-\(String(format: "%05d", shards)).safetensors" }
let hub = try LoopbackHub()
if let rate { hub.setRateLimit(rate) }
var state: UInt64 = 0x9E37_79B9_7F4A_7C15
var files: [(String, [UInt8])] = [("config.json", Array("{}".utf8))]
for name in names { files.append((name, randomBytes(sizeMiB, &state))) }
let repo = hub.addRepo("org/bench", files: files)
var banner = "ENDPOINT \(hub.endpoint)\n"
for (i, name) in names.enumerated() {
    let file = repo.files[i + 1]
    banner += "RESOLVE_URL \(hub.endpoint)/org/bench/resolve/main/\(name)\n"
    banner += "FILE_URL \(hub.cdn.baseURL)/blobs/\(file.sha256)\nSHA256 \(file.sha256)\n"
}
FileHandle.standardOutput.write(Data(banner.utf8))
while true { sleep(3600) }
