import ArgumentParser

/// `hasskit inspect PATH [--json]`: the tensors of a checkpoint or `.hkw` file.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the tensors of a safetensors/PyTorch checkpoint, a model folder or a .hkw file.",
        discussion: """
            Reads headers only: tensor data is not touched, so inspecting a multi-GB checkpoint is instant. \
            A file that fails validation is refused with one line naming the file and the reason.
            """
    )

    @OptionGroup var diagnostics: Diagnostics

    @Argument(help: "A .safetensors, .bin/.pt, .hkw file, an index.json, or a model folder.")
    var path: String

    @Flag(help: "Print one JSON document on stdout.")
    var json = false

    func run() throws {
        let report: InspectReport
        report = try InspectReport.load(path)
        Console.out(json ? report.json.serialized() : report.table)
    }
}
