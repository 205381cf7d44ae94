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
        .target(name: "Quantization", dependencies: ["CKernels"]),
        .target(name: "Checkpoints", dependencies: ["Platform", "StrictJSON", "Quantization"]),
        .target(
            name: "WeightFormat",
            dependencies: [
                "Platform", "StrictJSON", "Quantization", "CZstd",
                .product(name: "Crypto", package: "swift-crypto"),
            ]),

        .target(
            name: "Conversion",
            dependencies: [
                "Checkpoints", "Quantization", "WeightFormat", "Platform", "StrictJSON", "CacheLayout",
                .product(name: "Crypto", package: "swift-crypto"),
            ]),

        .target(name: "Jinja", dependencies: ["StrictJSON"]),
        .target(name: "Tokenizers", dependencies: ["Jinja", "StrictJSON"]),
        // Hand-off to SGLang/vLLM: draft layouts, bias folding, launch plans.
        .target(name: "Export", dependencies: ["Checkpoints", "Platform", "StrictJSON"]),
        // The hub imitation on loopback: the download tests' server with faults, and what
        // `hasskit demo` serves the bundled pair from so that it goes through the real `pull`.
        .target(name: "LoopbackHub", dependencies: ["StrictJSON", "Platform", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "Inference", dependencies: ["WeightFormat", "Quantization", "Platform", "StrictJSON", "COpenBLAS"]),
        // Checks over models: does a head fit its base (compat), does speculation reproduce plain
        // decoding (the smoke test), what bounds the engine (bench).
        .target(name: "Checks", dependencies: ["Inference", "WeightFormat", "Tokenizers", "Jinja", "Platform", "StrictJSON"]),
        // The main job, once, below the CLI: a pair's store, pulled, converted, checked.
        .target(name: "Pairs", dependencies: ["Registry", "CacheLayout", "Hub", "Conversion", "WeightFormat", "Inference", "Checks", "Tokenizers", "Export", "Platform", "StrictJSON"]),

        // MARK: Command line (commands live in a library so tests can run them in-process)
        .target(
            name: "HasskitCLI",
            dependencies: [
                "Platform", "Checkpoints", "WeightFormat", "Quantization", "Conversion", "Registry", "CacheLayout", "Hub", "Inference", "Checks", "Pairs", "Tokenizers", "Jinja", "LoopbackHub", "Export",
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
            dependencies: ["WeightFormat", "Checkpoints", "Conversion", "Quantization", "TestSupport", "Platform"]),
        .testTarget(name: "RegistryTests", dependencies: ["Registry", "StrictJSON", "TestSupport", "Platform"]),
        .testTarget(name: "HubTests", dependencies: ["Hub", "CacheLayout", "LoopbackHub", "Registry", "StrictJSON", "TestSupport", "Platform"]),
        .testTarget(
            name: "ConversionTests",
            dependencies: ["Conversion", "Checkpoints", "WeightFormat", "Quantization", "Platform", "StrictJSON", "CKernels", "TestSupport"]),
        .testTarget(name: "ExportTests", dependencies: ["Export", "Checkpoints", "StrictJSON", "TestSupport", "Platform"]),
        .testTarget(name: "JinjaTests", dependencies: ["Jinja", "StrictJSON", "TestSupport", "Platform"]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "Jinja", "Checkpoints", "StrictJSON", "TestSupport", "Platform"]),
        .testTarget(
            name: "InferenceTests",
            dependencies: ["Inference", "Checks", "Conversion", "WeightFormat", "StrictJSON", "TestSupport", "Platform"]),
        .testTarget(
            name: "PairsTests",
            dependencies: ["Pairs", "Checks", "Conversion", "Hub", "Inference", "LoopbackHub", "Platform", "Registry", "TestSupport"]),
        .testTarget(
            name: "HasskitCLITests",
            dependencies: ["HasskitCLI", "LoopbackHub", "TestSupport", "StrictJSON", "WeightFormat", "Checkpoints", "Conversion", "Platform", "Tokenizers"]),
    ],
    swiftLanguageModes: [.v6]
)
