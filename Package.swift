// swift-tools-version: 6.2
// hasskit: HASS speculative-decoding pairs, from the hub to a verified local run.
import PackageDescription

let package = Package(
    name: "hasskit",
    products: [
        .executable(name: "hasskit", targets: ["hasskit"]),
        .library(name: "Checkpoints", targets: ["Checkpoints"]),
        .library(name: "WeightFormat", targets: ["WeightFormat"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // MARK: System libraries (pkg-config + apt providers; small typed shims in shim.h)
        .systemLibrary(
            name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(
            name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(
            name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),

        // MARK: Our C kernels (runtime ISA dispatch; no global -march)
        .target(name: "CKernels"),
        .target(name: "CPlatform"),

        // MARK: Core modules
        .target(name: "Platform", dependencies: ["CPlatform"]),
        .target(name: "StrictJSON"),
        // The hub cache's names and paths (pure path logic, no I/O): the checked component types
        // every path under the cache is built from. Hub writes through it; Conversion reads it.
        .target(name: "CacheLayout"),
        .target(name: "Registry", dependencies: ["StrictJSON", "CacheLayout"]),
        .target(
            name: "Hub",
            dependencies: ["Platform", "StrictJSON", "Registry", "CacheLayout", "CCurl", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "Checkpoints", dependencies: ["Platform", "StrictJSON", "CKernels"]),
        .target(name: "Quantization", dependencies: ["CKernels"]),
        .target(
            name: "WeightFormat",
            dependencies: [
                "Platform", "StrictJSON", "Quantization", "Checkpoints", "CZstd",
                .product(name: "Crypto", package: "swift-crypto"),
            ]),

        .target(
            name: "Conversion",
            dependencies: [
                "Checkpoints", "Quantization", "WeightFormat", "Platform", "StrictJSON", "CKernels", "CacheLayout",
                .product(name: "Crypto", package: "swift-crypto"),
            ]),

        .target(name: "Tokenizers", dependencies: ["StrictJSON"]),
        // Hand-off to SGLang/vLLM: draft layouts, bias folding, launch plans.
        .target(name: "Export", dependencies: ["Checkpoints", "Platform", "Registry", "StrictJSON"]),
        // The hub imitation on loopback: the download tests' server with faults, and what
        // `hasskit demo` serves the bundled pair from so that it goes through the real `pull`.
        .target(name: "LoopbackHub", dependencies: ["StrictJSON", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "Inference", dependencies: ["WeightFormat", "Quantization", "Platform", "StrictJSON", "CKernels", "COpenBLAS", "Registry"]),

        // MARK: Command line (commands live in a library so tests can run them in-process)
        .target(
            name: "HasskitCLI",
            dependencies: [
                "Platform", "Checkpoints", "WeightFormat", "Quantization", "CKernels", "Conversion", "Registry", "CacheLayout", "Hub", "Inference", "Tokenizers", "LoopbackHub", "Export",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(name: "hasskit", dependencies: ["HasskitCLI"]),
        .executableTarget(name: "hasskit-testhub", dependencies: ["LoopbackHub"]),

        // MARK: Test support
        .target(name: "TestSupport", dependencies: ["Platform", "StrictJSON", .product(name: "Crypto", package: "swift-crypto")]),

        // MARK: Tests
        .testTarget(name: "CSmokeTests", dependencies: ["CCurl", "CZstd", "COpenBLAS", "CKernels"]),
        .testTarget(name: "PlatformTests", dependencies: ["Platform"]),
        .testTarget(name: "StrictJSONTests", dependencies: ["StrictJSON"]),
        .testTarget(name: "QuantizationTests", dependencies: ["Quantization", "CKernels", "Platform", "TestSupport"]),
        .testTarget(
            name: "CheckpointsTests",
            dependencies: [
                "Checkpoints", "TestSupport", "StrictJSON", "Platform", "CKernels",
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        .testTarget(
            name: "WeightFormatTests",
            dependencies: ["WeightFormat", "Checkpoints", "Quantization", "TestSupport", "Platform"]),
        .testTarget(name: "RegistryTests", dependencies: ["Registry", "StrictJSON", "TestSupport", "Platform"]),
        .testTarget(name: "HubTests", dependencies: ["Hub", "CacheLayout", "LoopbackHub", "Registry", "StrictJSON", "TestSupport", "Platform"]),
        .testTarget(
            name: "ConversionTests",
            dependencies: ["Conversion", "Checkpoints", "WeightFormat", "Quantization", "Platform", "StrictJSON", "CKernels", "TestSupport"]),
        .testTarget(name: "ExportTests", dependencies: ["Export", "Checkpoints", "StrictJSON", "TestSupport", "Platform"]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "StrictJSON", "TestSupport", "Platform"]),
        .testTarget(
            name: "InferenceTests",
            dependencies: ["Inference", "Conversion", "WeightFormat", "StrictJSON", "TestSupport", "Platform"]),
        .testTarget(
            name: "HasskitCLITests",
            dependencies: ["HasskitCLI", "LoopbackHub", "TestSupport", "StrictJSON", "WeightFormat", "Checkpoints", "Platform"]),
    ],
    swiftLanguageModes: [.v6]
)
