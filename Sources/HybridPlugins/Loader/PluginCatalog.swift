/// One file `hybrid plugins` reports: the plugin it holds, or why it was refused.
public struct PluginListing: Sendable {
    public enum Status: Sendable {
        case loaded(LoadedPlugin)
        case refused(PluginError)
    }

    public let candidate: PluginCandidate
    public let status: Status
    /// The earlier file on the path with the same file NAME: a recipe naming NAME gets that
    /// one, never this one.
    public let shadowedBy: String?
    /// The later files with the same file NAME that this one hides.
    public let shadows: [String]

    public var plugin: LoadedPlugin? {
        if case .loaded(let plugin) = status { plugin } else { nil }
    }

    public var refusal: PluginError? {
        if case .refused(let error) = status { error } else { nil }
    }
}

/// The plugins on a search path, as `hybrid plugins` lists them.
public enum PluginCatalog {
    /// Every candidate file in search order, each loaded (or refused with the reason).
    public static func scan(_ searchPath: PluginSearchPath) -> [PluginListing] {
        let candidates = searchPath.candidates()
        var pathsByName: [String: [String]] = [:]
        for candidate in candidates {
            if let name = candidate.nameFromFile { pathsByName[name, default: []].append(candidate.path) }
        }
        return candidates.map { candidate in
            let status: PluginListing.Status
            do throws(PluginError) {
                status = .loaded(try PluginLoader.load(candidate))
            } catch {
                status = .refused(error)
            }
            let sameName = candidate.nameFromFile.flatMap { pathsByName[$0] } ?? []
            let first = sameName.first == candidate.path
            return PluginListing(candidate: candidate, status: status, shadowedBy: first ? nil : sameName.first,
                                 shadows: first ? Array(sameName.dropFirst()) : [])
        }
    }
}

extension PluginListing: CustomStringConvertible {
    /// A few lines for `hybrid plugins`: the file and where it was found, then its
    /// descriptor and config keys, or the refusal; a shadowed file says which one wins.
    public var description: String {
        var lines = ["\(candidate.path)  (\(candidate.origin.label))"]
        if let shadowedBy { lines.append("  shadowed by \(shadowedBy)") }
        for hidden in shadows { lines.append("  shadows \(hidden)") }
        switch status {
        case .loaded(let plugin):
            var title = "  \(plugin.name) \(plugin.version)"
            if let fileName = candidate.nameFromFile, fileName != plugin.name {
                title += " (file name says \"\(fileName)\")"
            }
            lines.append(title + (plugin.summary.isEmpty ? "" : " — \(plugin.summary)"))
            lines.append("  ABI \(plugin.abiVersion), data \(plugin.dataKind.rawValue), "
                + "window_extra \(plugin.windowExtra)" + (plugin.canContinueText ? ", continues text" : "") + (plugin.canInfill ? ", fills in masks" : "") + (plugin.canDrawImages ? ", draws images" : ""))
            for key in plugin.configKeys {
                let rule = key.expected == key.type.expected ? "" : " (\(key.expected))"
                lines.append("    \(key.name): \(key.type.rawValue) = \(key.defaultValue)\(rule)"
                    + (key.doc.isEmpty ? "" : "  # \(key.doc)"))
            }
        case .refused(let error):
            lines.append("  refused: \(error.reason)")
        }
        return lines.joined(separator: "\n")
    }
}
