// A loopback imitation of the Hugging Face hub for benchmarks and manual tests (not installed by
// `make build`): serves repository `org/bench` with one file of --size-mib MiB of random bytes,
// LFS-style through a second "CDN" port, optionally limited to --rate-mbps MB/s per connection.
//
//   swift build -c release --product hasskit-testhub
//   .build/release/hasskit-testhub --size-mib 1024 [--rate-mbps 50]
//
// It prints `ENDPOINT <url>` and `FILE_URL <cdn url of the file>` and serves until killed.
import Foundation
import LoopbackHub

var sizeMiB = 1024
var rate: Int?
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let a = arguments.next() {
    switch a {
    case "--size-mib": sizeMiB = Int(arguments.next() ?? "") ?? sizeMiB
    case "--rate-mbps": rate = Int(arguments.next() ?? "").map { $0 * 1_000_000 }
    default:
        FileHandle.standardError.write(Data("usage: hasskit-testhub [--size-mib N] [--rate-mbps N]\n".utf8))
        exit(64)
    }
}
var bytes = [UInt8](repeating: 0, count: sizeMiB << 20)
var state: UInt64 = 0x9E37_79B9_7F4A_7C15
bytes.withUnsafeMutableBytes { raw in
    let words = raw.bindMemory(to: UInt64.self)
    for i in words.indices {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        words[i] = state ^ (state >> 29)
    }
}
let hub = try LoopbackHub()
if let rate { hub.setRateLimit(rate) }
let repo = hub.addRepo("org/bench", files: [("config.json", Array("{}".utf8)), ("model.safetensors", bytes)])
let banner =
    "ENDPOINT \(hub.endpoint)\nFILE_URL \(hub.cdn.baseURL)/blobs/\(repo.files[1].sha256)\nSHA256 \(repo.files[1].sha256)\n"
FileHandle.standardOutput.write(Data(banner.utf8))
while true { sleep(3600) }
