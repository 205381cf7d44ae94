import ArgumentParser

/// The `hasskit` command: HASS speculative-decoding pairs from the hub to a verified local run.
public struct Hasskit: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "hasskit",
        abstract: "Download, convert, validate and run HASS speculative-decoding pairs.",
        version: HasskitVersion.current,
        subcommands: [Inspect.self, Bench.self]
    )

    public init() {}
}

/// The version string printed by `--version` and recorded in converted files.
public enum HasskitVersion {
    public static let current = "0.1.0"
}
