import Foundation

extension Recipe {
    /// Reads, checks and decodes the recipe at `path`, after applying `overrides`
    /// (`key.path=value`, see `Recipe+Overrides.swift`). Throws every error found.
    public static func load(path: String, overrides: [String] = []) throws(RecipeErrors) -> Recipe {
        guard let contents = FileManager.default.contents(atPath: path) else {
            var isFolder: ObjCBool = false
            let reason = !FileManager.default.fileExists(atPath: path, isDirectory: &isFolder)
                ? "recipe file not found"
                : isFolder.boolValue ? "this is a folder, not a recipe file" : "recipe file cannot be read"
            throw RecipeErrors([RecipeError(at: Mark(file: path), reason: reason)])
        }
        return try decode(bytes: [UInt8](contents), path: path, source: path, overrides: overrides)
    }

    /// Decodes recipe text that stands for the file at `path`: relative paths resolve against
    /// its folder, `training.output` defaults to `runs/<its stem>`, and errors name `source`
    /// (default `path`; a checkpoint's stored recipe names the checkpoint, since today's file
    /// at `path` may hold other lines). With `requireData` false (a recipe read back from a
    /// checkpoint, to sample), data patterns that match no file are kept rather than refused.
    public static func decode(yaml: String, path: String, source: String? = nil, overrides: [String] = [],
                              requireData: Bool = true) throws(RecipeErrors) -> Recipe {
        try decode(bytes: Array(yaml.utf8), path: path, source: source ?? path, overrides: overrides, requireData: requireData)
    }

    private static func decode(bytes: [UInt8], path: String, source: String, overrides: [String],
                               requireData: Bool = true) throws(RecipeErrors) -> Recipe {
        let (root, errors) = try tree(bytes: bytes, path: path, source: source, overrides: overrides)
        let decoder = RecipeDecoder(errors: errors)
        let recipe = RecipeReader(path: path, decoder: decoder, requireData: requireData).recipe(root)
        guard var recipe, decoder.errors.isEmpty else { throw RecipeErrors(decoder.errors) }
        recipe.places = RecipePlaces(root)
        return recipe
    }
}

extension Recipe {
    /// The recipe's node tree before decoding: the file with its `extends` bases merged in and
    /// `overrides` applied, every node marked with where it was written (`source`: the name
    /// of the text itself); plus the overrides' errors.
    static func tree(bytes: [UInt8], path: String, source: String, overrides: [String]) throws(RecipeErrors) -> (YAMLNode, [RecipeError]) {
        guard let parsed = try YAMLParser.parse(bytes: bytes, file: source), !parsed.isNull else {
            throw RecipeErrors([RecipeError(at: Mark(file: source), reason: "recipe is empty",
                                            expected: "a mapping with model, data, objectives and training")])
        }
        var root = try Extends.resolve(parsed, file: path)
        var errors: [RecipeError] = []
        for text in overrides { errors += Override.apply(text, to: &root) }
        return (root, errors)
    }

    /// One line per value of the resolved recipe: its key path, its value, and where it came
    /// from — `file:line:column`, `--set key.path`, or `default` (`hybrid recipe check --explain`).
    public static func explain(path: String, overrides: [String] = []) throws(RecipeErrors) -> [String] {
        let recipe = try load(path: path, overrides: overrides)
        guard let resolved = try YAMLParser.parse(recipe.yamlText(), file: "resolved") else { return [] }
        var lines: [String] = []
        func flow(_ n: YAMLNode) -> String {
            switch n.content {
            case .scalar(let scalar): return YAMLEmitter.scalarText(scalar)
            case .sequence(let items): return "[" + items.map(flow).joined(separator: ", ") + "]"
            case .mapping(let entries): return "{" + entries.map { "\($0.key): \(flow($0.value))" }.joined(separator: ", ") + "}"
            }
        }
        func walk(_ node: YAMLNode, _ keyPath: String) {
            switch node.content {
            case .mapping(let entries):
                for e in entries { walk(e.value, KeyPathText.child(keyPath, e.key)) }
            case .sequence(let items) where items.contains(where: { $0.entries != nil }):
                for (i, item) in items.enumerated() { walk(item, KeyPathText.index(keyPath, i)) }
            default:
                lines.append("\(keyPath) = \(flow(node))  (\(recipe.places[keyPath]?.description ?? "default"))")
            }
        }
        walk(resolved, "")
        return lines
    }
}

/// The recipe's schema: which keys each mapping allows, what each holds, and the defaults.
private struct RecipeReader {
    let decoder: RecipeDecoder
    /// The recipe file's folder, absolute: relative paths in the recipe start here.
    let directory: String
    /// The recipe file's name without its extension.
    let stem: String
    /// Whether every data pattern must match a file.
    let requireData: Bool

    init(path: String, decoder: RecipeDecoder, requireData: Bool) {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        self.decoder = decoder
        self.requireData = requireData
        directory = url.deletingLastPathComponent().path
        stem = url.deletingPathExtension().lastPathComponent
    }

    func recipe(_ root: YAMLNode) -> Recipe? {
        let keys = ["device", "precision", "plugin_paths", "model", "data", "objectives", "mixing", "optimizer", "schedule", "training", "checkpoint"]
        guard let f = Fields(root, at: "", keys: keys, in: decoder) else { return nil }
        let device: Recipe.Device? = f.choice("device", default: .auto)
        let precision: Recipe.Precision? = f.choice("precision", default: .fp32)
        let pluginPaths = f.read("plugin_paths", default: [], expected: "a list of folders") { node, path in
            decoder.list(node, path, expected: "a list of folders") { item, path in
                decoder.string(item, path, expected: "a folder path").map { RecipePath(written: $0, absolute: absolute($0)) }
            }
        }
        let model = f.section("model", required: true, readModel)
        let data = f.section("data", required: true, readData)
        let objectives = f.read("objectives", default: nil, expected: "a list of objectives", readObjectives)
        let mixing: Recipe.Mixing? = f.choice("mixing", default: .sum)
        let optimizer = f.section("optimizer", required: false, readOptimizer)
        let schedule = f.section("schedule", required: false, readSchedule)
        let training = f.section("training", required: true, readTraining)
        let checkpoint = f.section("checkpoint", required: false, readCheckpoint)
        guard let device, let precision, let pluginPaths, let model, let data, let objectives, let mixing, let optimizer, let schedule,
              let training, let checkpoint else { return nil }
        guard precision == .fp32 || device != .cpu else {
            decoder.report(f.node("precision")?.mark ?? f.mark, f.childPath("precision"),
                           reason: "the CPU backend computes in fp32 only; mixed precision runs on device: vulkan (or auto with a GPU)",
                           expected: "fp32 with device: cpu", found: f.node("precision")?.found ?? precision.rawValue)
            return nil
        }
        return Recipe(device: device, precision: precision, pluginPaths: pluginPaths, model: model, data: data, objectives: objectives,
                      mixing: mixing, optimizer: optimizer, schedule: schedule, training: training, checkpoint: checkpoint)
    }

    private func readModel(_ node: YAMLNode, _ path: String) -> ModelConfig? {
        let keys = ["d_model", "layers", "heads", "seq_len", "mlp_ratio", "dropout", "image_experts"]
        guard let f = Fields(node, at: path, keys: keys, in: decoder) else { return nil }
        let dModel = f.int("d_model", .positive)
        let layers = f.int("layers", .positive)
        let heads = f.int("heads", .positive)
        let seqLen = f.int("seq_len", .positive)
        let mlpRatio = f.int("mlp_ratio", .positive, default: 4)
        let noDropout = Rule<Float>(expected: "0", reason: "dropout is not supported yet") { $0 == 0 }
        let dropout = f.float("dropout", noDropout, default: 0)
        let imageExperts = f.bool("image_experts", default: false)
        guard let dModel, let layers, let heads, let seqLen, let mlpRatio, let dropout, let imageExperts else { return nil }
        guard dModel % heads == 0 else {
            decoder.report(f.node("heads")?.mark ?? f.mark, f.childPath("heads"),
                           reason: "d_model (\(dModel)) is not divisible by heads (\(heads))",
                           expected: "a divisor of \(dModel)", found: "\(heads)")
            return nil
        }
        return ModelConfig(dModel: dModel, layers: layers, heads: heads, seqLen: seqLen, mlpRatio: mlpRatio,
                           dropout: dropout, imageExperts: imageExperts)
    }

    private func readData(_ node: YAMLNode, _ path: String) -> DataConfig? {
        guard let f = Fields(node, at: path, keys: ["text", "images", "image_size", "image_channels", "resize", "caption_column",
                                                    "label_column", "validation_fraction"], in: decoder) else { return nil }
        let expected = "a list of paths or globs"
        let text = f.read("text", default: [], expected: expected) { node, path -> [(pattern: String, files: [String])]? in
            decoder.list(node, path, expected: expected, readPattern)
        }
        let images = f.read("images", default: Optional<RecipePath>.none, expected: "a path to a CSV of images or a folder of PNG files") { node, path in
            readFile(node, path, folders: true,
                     expected: "a CSV (or .csv.gz) of images, one per line: pixels then a label; or a folder of PNG files")
        }
        let imageSize = f.int("image_size", Rule(expected: "an image side in 1...1024") { (1...1024).contains($0) }, default: 8)
        let imageChannels = f.int("image_channels", Rule(expected: "1 (grey) or 3 (RGB)") { $0 == 1 || $0 == 3 }, default: 1)
        let resize = f.bool("resize", default: false)
        let captionColumn = f.string("caption_column", expected: "the metadata.jsonl key of the captions", default: "text")
        let labelColumn = f.read("label_column", default: Optional<String>.none, expected: "the metadata.jsonl key of the classes") { node, path in
            decoder.string(node, path, expected: "the metadata.jsonl key of the classes").map { Optional($0) }
        }
        let fraction = Rule<Float>(expected: "a number in (0, 0.5]") { $0 > 0 && $0 <= 0.5 }
        let validationFraction = f.float("validation_fraction", fraction, default: 0.1)
        guard let text, let images, let imageSize, let imageChannels, let resize, let captionColumn, let labelColumn, let validationFraction
        else { return nil }
        guard !text.isEmpty || images != nil else {
            decoder.report(f.mark, path, expected: "text (a list of paths or globs) or images (a path), or both",
                           found: "neither")
            return nil
        }
        var files: [String] = []
        for file in text.flatMap(\.files) where !files.contains(file) { files.append(file) }
        return DataConfig(text: text.map(\.pattern), textFiles: files, images: images, imageSize: imageSize, imageChannels: imageChannels,
                          resize: resize, captionColumn: captionColumn, labelColumn: labelColumn, validationFraction: validationFraction)
    }

    /// A path to one existing file, or folder where `folders` allows (when data is required),
    /// relative to the recipe.
    private func readFile(_ node: YAMLNode, _ path: String, folders: Bool = false, expected: String) -> RecipePath?? {
        guard let written = decoder.string(node, path, expected: expected) else { return nil }
        let file = absolute(written)
        var isFolder: ObjCBool = false
        guard !requireData || (FileManager.default.fileExists(atPath: file, isDirectory: &isFolder) && (folders || !isFolder.boolValue)) else {
            decoder.report(node.mark, path, reason: "no such file\(folders ? " or folder" : "") (relative to \(directory))", expected: expected,
                           found: node.found)
            return nil
        }
        return .some(RecipePath(written: written, absolute: file))
    }

    /// A path or glob and the files it matches; no match is an error at the pattern.
    private func readPattern(_ node: YAMLNode, _ path: String) -> (pattern: String, files: [String])? {
        guard let pattern = decoder.string(node, path, expected: "a path or glob") else { return nil }
        let files = matchingFiles(pattern, in: directory)
        guard !files.isEmpty || !requireData else {
            decoder.report(node.mark, path, reason: "no file matches this pattern (relative to \(directory))",
                           expected: "a path or glob that matches at least one file", found: node.found)
            return nil
        }
        return (pattern, files)
    }

    private func readObjectives(_ node: YAMLNode, _ path: String) -> [ObjectiveConfig]? {
        guard let items = decoder.items(node, path, expected: "a list of objectives") else { return nil }
        guard !items.isEmpty else {
            decoder.report(node.mark, path, expected: "at least one objective", found: node.found)
            return nil
        }
        let objectives = items.enumerated().map { readObjective($1, KeyPathText.index(path, $0)) }
        var firstWithName: [String: Int] = [:]
        var unique = true
        for (index, objective) in objectives.enumerated() {
            guard let name = objective?.name else { continue }
            guard let first = firstWithName[name] else {
                firstWithName[name] = index
                continue
            }
            unique = false
            let item = KeyPathText.index(path, index)
            decoder.report(items[index]["name"]?.mark ?? items[index].mark, KeyPathText.child(item, "name"),
                           reason: "\(KeyPathText.index(path, first)) already has the name `\(name)`",
                           expected: "a name unique among the objectives (set `name:`)", found: "\"\(name)\"")
        }
        guard unique, !objectives.contains(where: { $0 == nil }) else { return nil }
        let decoded = objectives.compactMap { $0 }
        guard decoded.contains(where: { $0.weight > 0 || $0.weightEnd > 0 }) else {
            decoder.report(node.mark, path, reason: "every objective has weight 0, so nothing would be trained",
                           expected: "at least one objective with a weight above 0", found: "all weights 0")
            return nil
        }
        return decoded
    }

    private func readObjective(_ node: YAMLNode, _ path: String) -> ObjectiveConfig? {
        let keys = ["plugin", "name", "weight", "weight_end", "weight_schedule", "batch_size", "teacher", "config"]
        guard let f = Fields(node, at: path, keys: keys, in: decoder) else { return nil }
        let plugin = f.string("plugin", expected: "a plugin name or a path to a plugin library")
        let name = f.node("name") == nil
            ? plugin.map(ObjectiveConfig.defaultName)
            : f.string("name", expected: "an objective name")
        let weight = f.float("weight", .nonNegative, default: 1)
        let weightEnd = f.float("weight_end", .nonNegative, default: weight ?? 1)
        let weightSchedule: ScheduleShape? = f.choice("weight_schedule", default: .constant)
        let batchSize = f.node("batch_size") == nil ? .some(nil) : f.int("batch_size", .positive, default: nil).map(Optional.some)
        let teacher = f.read("teacher", default: Optional<RecipePath>.none, expected: "a checkpoint (.safetensors)") { node, path in
            readFile(node, path, expected: "a checkpoint (.safetensors)")
        }
        let config = f.read("config", default: YAMLNode(.mapping([]), mark: f.mark), expected: "a mapping") { node, path in
            decoder.entries(node, path).map { YAMLNode(.mapping($0), mark: node.mark) }
        }
        guard let plugin, let name, let weight, let weightEnd, let weightSchedule, let batchSize, let teacher, let config else { return nil }
        return ObjectiveConfig(plugin: plugin, pluginPath: plugin.contains("/") ? absolute(plugin) : nil, name: name,
                               weight: weight, weightEnd: weightEnd, weightSchedule: weightSchedule,
                               batchSize: batchSize, teacher: teacher, config: config)
    }

    private func readOptimizer(_ node: YAMLNode, _ path: String) -> OptimizerConfig? {
        let keys = ["name", "lr", "betas", "eps", "weight_decay", "grad_clip", "moments"]
        guard let f = Fields(node, at: path, keys: keys, in: decoder) else { return nil }
        let name: OptimizerConfig.Name? = f.choice("name", default: .adamw)
        let lr = f.float("lr", .positive, default: 1e-3)
        let expected = "a list of two numbers in [0, 1)"
        let betas = f.read("betas", default: [0.9, 0.95], expected: expected) { node, path -> [Float]? in
            guard let betas = decoder.list(node, path, expected: expected, { decoder.float($0, $1, .belowOne) }) else {
                return nil
            }
            guard betas.count == 2 else {
                decoder.report(node.mark, path, expected: expected, found: "a list of \(betas.count)")
                return nil
            }
            return betas
        }
        let eps = f.float("eps", .positive, default: 1e-8)
        let weightDecay = f.float("weight_decay", .nonNegative, default: 0.1)
        let gradClip = f.float("grad_clip", .nonNegative, default: 1)
        let moments: OptimizerConfig.Moments? = f.choice("moments", default: .fp32)
        guard let name, let lr, let betas, let eps, let weightDecay, let gradClip, let moments else { return nil }
        return OptimizerConfig(name: name, lr: lr, beta1: betas[0], beta2: betas[1], eps: eps,
                               weightDecay: weightDecay, gradClip: gradClip, moments: moments)
    }

    private func readSchedule(_ node: YAMLNode, _ path: String) -> ScheduleConfig? {
        guard let f = Fields(node, at: path, keys: ["name", "warmup_steps", "min_lr_ratio"], in: decoder) else {
            return nil
        }
        let name: ScheduleConfig.Name? = f.choice("name", default: .cosine)
        let warmupSteps = f.int("warmup_steps", .nonNegative, default: 20)
        let minLRRatio = f.float("min_lr_ratio", .unit, default: 0.1)
        guard let name, let warmupSteps, let minLRRatio else { return nil }
        return ScheduleConfig(name: name, warmupSteps: warmupSteps, minLRRatio: minLRRatio)
    }

    private func readTraining(_ node: YAMLNode, _ path: String) -> TrainingConfig? {
        let keys = ["steps", "batch_size", "seed", "eval_every", "eval_batches", "log_every", "output", "init_from", "recompute"]
        guard let f = Fields(node, at: path, keys: keys, in: decoder) else { return nil }
        let steps = f.int("steps", .positive)
        let batchSize = f.int("batch_size", .positive)
        let seed = f.int("seed", .any, default: 1234)
        let evalEvery = f.int("eval_every", .positive, default: 100)
        let evalBatches = f.int("eval_batches", .positive, default: 8)
        let logEvery = f.int("log_every", .positive, default: 10)
        let output = f.string("output", expected: "a folder path", default: "runs/\(stem)")
        let initFrom = f.read("init_from", default: Optional<RecipePath>.none, expected: "a checkpoint (.safetensors)") { node, path in
            readFile(node, path, expected: "a checkpoint (.safetensors)")
        }
        let recompute: TrainingConfig.Recompute? = f.choice("recompute", default: .cheap)
        guard let steps, let batchSize, let seed, let evalEvery, let evalBatches, let logEvery,
              let output, let initFrom, let recompute else { return nil }
        return TrainingConfig(steps: steps, batchSize: batchSize, seed: seed, evalEvery: evalEvery,
                              evalBatches: evalBatches, logEvery: logEvery, output: output, initFrom: initFrom, recompute: recompute)
    }

    private func readCheckpoint(_ node: YAMLNode, _ path: String) -> CheckpointConfig? {
        guard let f = Fields(node, at: path, keys: ["every", "keep", "resume"], in: decoder) else { return nil }
        let every = f.int("every", .nonNegative, default: 0)
        let keep = f.int("keep", .nonNegative, default: 0)
        let expected = "none, auto (the newest checkpoint in training.output) or a checkpoint file"
        let resume = f.read("resume", default: CheckpointConfig.Resume.none, expected: expected) { node, path -> CheckpointConfig.Resume? in
            if case .scalar(let s) = node.content, s.kind == .string || s.kind == .null, ["none", "auto", "", "~", "null"].contains(s.text) {
                return s.text == "auto" ? .auto : CheckpointConfig.Resume.none
            }
            return readFile(node, path, expected: expected)?.map { .file($0) } ?? nil
        }
        guard let every, let keep, let resume else { return nil }
        return CheckpointConfig(every: every, keep: keep, resume: resume)
    }

    /// `path` made absolute against the recipe's folder.
    private func absolute(_ path: String) -> String {
        let url = path.hasPrefix("/")
            ? URL(fileURLWithPath: path)
            : URL(fileURLWithPath: directory, isDirectory: true).appendingPathComponent(path)
        return url.standardizedFileURL.path
    }
}
