import Foundation

/// The regular files `pattern` matches with glob(3), in glob's sorted order, as absolute
/// paths. A relative pattern is taken from `directory`, whose own characters match literally.
func matchingFiles(_ pattern: String, in directory: String) -> [String] {
    let escapedDirectory = directory.map { "*?[\\".contains($0) ? "\\\($0)" : String($0) }.joined()
    let full = pattern.hasPrefix("/") ? pattern : escapedDirectory + "/" + pattern
    var matches = glob_t()
    defer { globfree(&matches) }
    guard glob(full, 0, nil, &matches) == 0 else { return [] }
    var files: [String] = []
    for index in 0..<Int(matches.gl_pathc) {
        guard let cPath = matches.gl_pathv[index] else { continue }
        let path = String(cString: cPath)
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue {
            files.append(URL(fileURLWithPath: path).standardizedFileURL.path)
        }
    }
    return files
}
