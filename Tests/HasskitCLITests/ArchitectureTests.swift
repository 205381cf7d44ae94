import Foundation
import Testing
import TestSupport

/// The module graph as `Package.swift` declares it: the README's diagram is generated from it (the
/// test prints the block to paste when they differ), and the edges that would point up the
/// pipeline are refused.
@Suite struct ArchitectureTests {
    static let root = Fixtures.root + "/../.."

    /// Targets (not tests) and their dependencies on other targets of this package, read from
    /// Package.swift's text (SwiftPM itself cannot be asked from inside `swift test`: it holds the
    /// build folder's lock).
    static func graph() throws -> [String: [String]] {
        let text = try String(contentsOfFile: root + "/Package.swift", encoding: .utf8)
        var graph: [String: [String]] = [:]
        var rest = Substring(text)
        while let start = rest.range(of: #"\.(target|executableTarget|systemLibrary)\("#, options: .regularExpression) {
            // The call's text, up to its balanced closing parenthesis.
            var depth = 0, end = start.upperBound
            var i = rest.index(before: start.upperBound)
            while i < rest.endIndex {
                if rest[i] == "(" { depth += 1 }
                if rest[i] == ")" { depth -= 1; if depth == 0 { end = rest.index(after: i); break } }
                i = rest.index(after: i)
            }
            let call = String(rest[start.lowerBound..<end])
            rest = rest[end...]
            guard let nameRange = call.range(of: #"name: "([A-Za-z-]+)""#, options: .regularExpression) else {
                continue
            }
            let name = call[nameRange].split(separator: "\"")[1]
            var deps: [String] = []
            if let d = call.range(of: "dependencies: [") {
                var list = call[d.upperBound...]
                if let close = list.firstIndex(of: "]") { list = list[..<close] }
                // Products of other packages are written .product(name: …): leave them out.
                let withoutProducts = list.replacingOccurrences(
                    of: #"\.product\([^)]*\)"#, with: "", options: .regularExpression)
                deps = withoutProducts.split(separator: "\"", omittingEmptySubsequences: false).enumerated().filter {
                    $0.offset % 2 == 1
                }.map { String($0.element) }
            }
            graph[String(name)] = deps
        }
        return graph
    }

    /// Layer 0 holds the modules that depend on nothing here; each other module sits one layer
    /// above its highest dependency.
    static func diagram(_ graph: [String: [String]]) -> String {
        var layer: [String: Int] = [:]
        func level(_ m: String) -> Int {
            if let l = layer[m] { return l }
            let l = (graph[m] ?? []).map { level($0) + 1 }.max() ?? 0
            layer[m] = l
            return l
        }
        for m in graph.keys { _ = level(m) }
        var lines: [String] = []
        for l in 0...(layer.values.max() ?? 0) {
            for m in graph.keys.filter({ layer[$0] == l }).sorted() {
                let deps = (graph[m] ?? []).sorted()
                lines.append(
                    deps.isEmpty
                        ? "\(l)  \(m)"
                        : "\(l)  \(m.padding(toLength: 16, withPad: " ", startingAt: 0))← "
                            + deps.joined(separator: ", "))
            }
        }
        return lines.joined(separator: "\n")
    }

    @Test func readmeDiagramIsThePackageGraph() throws {
        let expected = Self.diagram(try Self.graph())
        let readme = try String(contentsOfFile: Self.root + "/README.md", encoding: .utf8)
        let marker = "<!-- module graph: generated from Package.swift by ArchitectureTests -->\n```\n"
        guard let start = readme.range(of: marker), let end = readme[start.upperBound...].range(of: "\n```") else {
            Issue.record("README.md has no module graph block; paste:\n\(marker)\(expected)\n```")
            return
        }
        let found = String(readme[start.upperBound..<end.lowerBound])
        #expect(found == expected, "the README's module graph is out of date; replace it with:\n\(expected)")
    }

    /// Edges that would point up the pipeline (registry → hub → checkpoints → conversion → format
    /// → inference → checks → pairs → CLI), or let a C library out of its owner.
    @Test func dependenciesPointDown() throws {
        let graph = try Self.graph()
        let forbidden: [(String, String)] = [
            ("WeightFormat", "Checkpoints"), ("Inference", "Registry"), ("Export", "Registry"), ("Inference", "Hub"),
            ("Inference", "Conversion"), ("Checks", "Hub"), ("Checks", "Registry"), ("Registry", "Hub"),
            ("Hub", "Conversion"),
            ("Conversion", "Hub"), ("Conversion", "Inference"), ("WeightFormat", "Inference"), ("Pairs", "HasskitCLI"),
        ]
        for (from, to) in forbidden {
            #expect(!(graph[from] ?? []).contains(to), "\(from) must not depend on \(to)")
        }
        #expect(graph["CacheLayout"] == [], "CacheLayout is pure path logic with no dependencies")
        for (m, deps) in graph where m != "hasskit" && m != "HasskitCLI" && m != "hasskit-testhub" {
            #expect(!deps.contains("HasskitCLI"), "\(m) depends on the CLI")
        }
        // Each C library has one owner: the kernels Quantization, the system calls Platform.
        for (c, owner) in [("CKernels", "Quantization"), ("CPlatform", "Platform")] {
            let importers = graph.filter { $0.value.contains(c) }.map(\.key)
            #expect(importers == [owner], "\(c) is a dependency of \(importers.sorted()), only \(owner) may own it")
        }
    }
}
