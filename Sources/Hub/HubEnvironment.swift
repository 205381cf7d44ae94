import Foundation
import Platform

/// Where hasskit talks to and stores things, from the environment variables users of the `hf` CLI
/// already set: `HF_ENDPOINT`, `HF_TOKEN` (or the token file `hf auth login` writes), `HF_HOME`,
/// `HF_HUB_CACHE`, `HF_HUB_OFFLINE`; plus `HASSKIT_HOME` for hasskit's own pair store.
public struct HubEnvironment: Sendable {
    public var endpoint: String
    public var token: String?
    public var cacheDirectory: String
    public var offline: Bool
    /// hasskit's store: lock files and converted pairs.
    public var hasskitHome: String

    public init(endpoint: String, token: String?, cacheDirectory: String, offline: Bool, hasskitHome: String) {
        self.endpoint = endpoint
        self.token = token
        self.cacheDirectory = cacheDirectory
        self.offline = offline
        self.hasskitHome = hasskitHome
    }

    /// The hub's address when `HF_ENDPOINT` is not set.
    public static let defaultEndpoint = "https://huggingface.co"

    /// Reads the process environment.
    public static func fromProcess(_ env: [String: String] = ProcessInfo.processInfo.environment) -> HubEnvironment {
        func value(_ k: String) -> String? { env[k].flatMap { $0.isEmpty ? nil : $0 } }
        let home = value("HOME") ?? NSHomeDirectory()
        let xdg = value("XDG_CACHE_HOME") ?? home + "/.cache"
        let hfHome = value("HF_HOME") ?? xdg + "/huggingface"
        let cache = value("HF_HUB_CACHE") ?? value("HUGGINGFACE_HUB_CACHE") ?? hfHome + "/hub"
        var endpoint = value("HF_ENDPOINT") ?? defaultEndpoint
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        var token = value("HF_TOKEN") ?? value("HUGGING_FACE_HUB_TOKEN")
        if token == nil {
            let path = value("HF_TOKEN_PATH") ?? hfHome + "/token"
            if let data = FileManager.default.contents(atPath: path) {
                let t = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                token = t.isEmpty ? nil : t
            }
        }
        if ["1", "on", "yes", "true"].contains(value("HF_HUB_DISABLE_IMPLICIT_TOKEN")?.lowercased() ?? "") {
            token = nil
        }
        let offline = ["1", "on", "yes", "true"].contains(
            (value("HF_HUB_OFFLINE") ?? value("TRANSFORMERS_OFFLINE") ?? "").lowercased())
        return HubEnvironment(
            endpoint: endpoint, token: token, cacheDirectory: cache, offline: offline,
            hasskitHome: value("HASSKIT_HOME") ?? xdg + "/hasskit")
    }
}
