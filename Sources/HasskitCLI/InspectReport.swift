import Checkpoints
import Foundation
import Platform
import StrictJSON
import WeightFormat

/// What `hasskit inspect` reports about any weights file or folder.
struct InspectReport {
    struct Row {
        var name: String
        var dtype: String
        var shape: [Int]
        var bytes: UInt64
        var elements: UInt64
        /// For converted tensors: relative RMS error against the source values.
        var relRMSE: Double? = nil
    }

    var path: String
    var format: String
    var rows: [Row]
    var metadata: JSONValue
    var files: [String]

    var parameters: UInt64 { rows.reduce(0) { $0 + $1.elements } }
    var bytes: UInt64 { rows.reduce(0) { $0 + $1.bytes } }

    /// Opens `path` as a `.hkw` when it carries the magic bytes, otherwise as a checkpoint.
    static func load(_ path: String) throws -> InspectReport {
        if FileSystem.kind(of: path) == .file, isHKW(path) {
            let f = try HKWFile(path: path)
            let quality = f.metadata["quality"]
            let rows = f.tensors.map { t in
                Row(
                    name: t.name, dtype: t.type?.rawValue ?? "?", shape: t.shape, bytes: t.length,
                    elements: Checkpoints.elementCount(of: t.shape) ?? 0,
                    relRMSE: quality?[t.name]?["rel_rmse"]?.doubleValue)
            }.sorted { $0.name < $1.name }
            var meta = f.metadata.objectMembers ?? []
            meta.append(("content_hash", .string(f.contentHash)))
            if !f.files.isEmpty { meta.append(("files", .array(f.files.map { .string($0.name) }))) }
            return InspectReport(path: path, format: "hkw", rows: rows, metadata: .object(meta), files: [path])
        }
        let c = try Checkpoint.open(path)
        let rows = c.tensors.map { t in
            Row(
                name: t.name, dtype: t.dtype.rawValue, shape: t.shape, bytes: UInt64(t.byteCount),
                elements: UInt64(t.elementCount))
        }
        let meta = JSONValue.object(c.metadata.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })
        return InspectReport(path: path, format: c.format.rawValue, rows: rows, metadata: meta, files: c.files)
    }

    static func isHKW(_ path: String) -> Bool {
        guard let s = try? ByteStorage(mapping: path) else { return false }
        return s.view.hasBytes(HKWFormat.magic)
    }

    var json: JSONValue {
        .object([
            ("format", .string(format)),
            ("path", .string(path)),
            (
                "tensors",
                .array(
                    rows.map { r in
                        var m: [(String, JSONValue)] = [
                            ("name", .string(r.name)), ("dtype", .string(r.dtype)),
                            ("shape", .array(r.shape.map { .int($0) })),
                        ]
                        if let e = r.relRMSE { m.append(("rel_rmse", .double(e))) }
                        return .object(m)
                    })
            ),
            ("parameters", .int(parameters)),
            ("bytes", .int(bytes)),
            ("metadata", metadata),
        ])
    }

    /// A readable table: one line per tensor, widths fitted to the content.
    var table: String {
        var lines: [String] = []
        lines.append("\(path)")
        lines.append("  format      \(format)")
        lines.append("  tensors     \(rows.count)")
        lines.append("  parameters  \(formatCount(parameters)) (\(parameters))")
        lines.append("  bytes       \(formatBytes(bytes)) (\(bytes))")
        if let members = metadata.objectMembers {
            for (k, v) in members where k != "quality" {
                let text = v.stringValue ?? v.serialized()
                lines.append("  \(k.padding(10)) \(text.count > 100 ? String(text.prefix(100)) + "…" : text)")
            }
        }
        guard !rows.isEmpty else { return lines.joined(separator: "\n") }
        lines.append("")
        let nameWidth = min(max(4, rows.map(\.name.count).max() ?? 0), 72)
        let dtypeWidth = max(5, rows.map(\.dtype.count).max() ?? 0)
        let shapes = rows.map { "[" + $0.shape.map(String.init).joined(separator: ", ") + "]" }
        let shapeWidth = max(5, shapes.map(\.count).max() ?? 0)
        let showError = rows.contains { $0.relRMSE != nil }
        lines.append(
            "  \("NAME".padding(nameWidth))  \("DTYPE".padding(dtypeWidth))  \("SHAPE".padding(shapeWidth))  \("BYTES".padding(10))\(showError ? "  REL.RMSE" : "")"
        )
        for (r, s) in zip(rows, shapes) {
            let error = r.relRMSE.map { String(format: "%.2e", $0) } ?? ""
            lines.append(
                "  \(r.name.padding(nameWidth))  \(r.dtype.padding(dtypeWidth))  \(s.padding(shapeWidth))  \(String(r.bytes).padding(10))\(showError ? "  " + error : "")"
            )
        }
        return lines.joined(separator: "\n")
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}

func formatBytes(_ n: UInt64) -> String { ByteCount.format(n) }

func formatCount(_ n: UInt64) -> String {
    let units: [(Double, String)] = [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")]
    for (scale, suffix) in units where Double(n) >= scale {
        return String(Int((Double(n) / scale * 100).rounded())).inserting(".", atFromEnd: 2) + suffix
    }
    return "\(n)"
}

extension String {
    func inserting(_ s: String, atFromEnd k: Int) -> String {
        var chars = Array(self)
        while chars.count <= k { chars.insert("0", at: 0) }
        chars.insert(contentsOf: s, at: chars.count - k)
        return String(chars)
    }
}
