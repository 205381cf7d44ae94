import ArgumentParser
import Conversion

/// The `hasskit` command: HASS speculative-decoding pairs from the hub to a verified local run.
public struct Hasskit: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "hasskit",
        abstract: "Download, convert, validate and run HASS speculative-decoding pairs.",
        version: HasskitBuild.version,
        subcommands: [
            List.self, Show.self, Pull.self, Verify.self, Remove.self, GarbageCollect.self, Inspect.self, Convert.self,
            Pack.self,
            Unpack.self, Run.self, TemplateCommand.self, Eval.self, Compat.self, Check.self, Demo.self,
            ExportCommand.self,
            Bench.self,
        ]
    )

    public init() {}
}
