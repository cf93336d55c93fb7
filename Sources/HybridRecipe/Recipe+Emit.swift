extension Recipe {
    /// The resolved recipe as YAML, every default written out: what `hybrid recipe check`
    /// prints and what a checkpoint stores. Data patterns and paths appear as written (so
    /// read the text back with `decode(yaml:path:)` and the original path, or from the same
    /// folder); objective configs appear as written. Loading it again gives an equal recipe.
    public func yamlText() -> String {
        YAMLEmitter.text(.map([
            ("device", .plain(device.rawValue)),
            ("precision", .plain(precision.rawValue)),
            ("plugin_paths", .list(pluginPaths.map { .string($0.written) })),
            ("model", .map([
                ("d_model", .number(model.dModel)),
                ("layers", .number(model.layers)),
                ("heads", .number(model.heads)),
                ("seq_len", .number(model.seqLen)),
                ("mlp_ratio", .number(model.mlpRatio)),
                ("dropout", .number(model.dropout)),
                ("image_experts", .plain(model.imageExperts ? "true" : "false")),
            ])),
            ("data", .map([
                ("text", .list(data.text.map(YAMLNode.string))),
            ] + (data.images.map { [("images", .string($0.written)), ("image_size", .number(data.imageSize)),
                                    ("image_channels", .number(data.imageChannels)), ("resize", .plain(data.resize ? "true" : "false")),
                                    ("caption_column", .string(data.captionColumn))]
                                    + (data.labelColumn.map { [("label_column", .string($0))] } ?? []) } ?? []) + [
                ("validation_fraction", .number(data.validationFraction)),
            ])),
            ("objectives", .list(objectives.map { objective in
                .map([
                    ("plugin", .string(objective.plugin)),
                    ("name", .string(objective.name)),
                    ("weight", .number(objective.weight)),
                    ("weight_end", .number(objective.weightEnd)),
                    ("weight_schedule", .plain(objective.weightSchedule.rawValue)),
                ] + (objective.batchSize.map { [("batch_size", .number($0))] } ?? [])
                  + (objective.teacher.map { [("teacher", .string($0.written))] } ?? []) + [
                    ("config", objective.config),
                ])
            })),
            ("mixing", .plain(mixing.rawValue)),
            ("optimizer", .map([
                ("name", .plain(optimizer.name.rawValue)),
                ("lr", .number(optimizer.lr)),
                ("betas", .list([.number(optimizer.beta1), .number(optimizer.beta2)])),
                ("eps", .number(optimizer.eps)),
                ("weight_decay", .number(optimizer.weightDecay)),
                ("grad_clip", .number(optimizer.gradClip)),
                ("moments", .plain(optimizer.moments.rawValue)),
            ])),
            ("schedule", .map([
                ("name", .plain(schedule.name.rawValue)),
                ("warmup_steps", .number(schedule.warmupSteps)),
                ("min_lr_ratio", .number(schedule.minLRRatio)),
            ])),
            ("training", .map([
                ("steps", .number(training.steps)),
                ("batch_size", .number(training.batchSize)),
                ("seed", .number(training.seed)),
                ("eval_every", .number(training.evalEvery)),
                ("eval_batches", .number(training.evalBatches)),
                ("log_every", .number(training.logEvery)),
                ("output", .string(training.output)),
                ("recompute", .plain(training.recompute.rawValue)),
            ] + (training.initFrom.map { [("init_from", .string($0.written))] } ?? []))),
            ("checkpoint", .map([
                ("every", .number(checkpoint.every)),
                ("keep", .number(checkpoint.keep)),
                ("resume", { switch checkpoint.resume {
                    case .none: return .plain("none")
                    case .auto: return .plain("auto")
                    case .file(let path): return .string(path.written)
                } }()),
            ])),
        ]))
    }
}

/// Building blocks for the emitted tree; these nodes come from no file.
private extension YAMLNode {
    static let emitted = Mark(file: "<resolved recipe>")

    static func map(_ pairs: [(String, YAMLNode)]) -> YAMLNode {
        YAMLNode(.mapping(pairs.map { YAMLEntry(key: $0.0, keyMark: emitted, value: $0.1) }), mark: emitted)
    }

    static func list(_ items: [YAMLNode]) -> YAMLNode { YAMLNode(.sequence(items), mark: emitted) }

    static func plain(_ text: String) -> YAMLNode { YAMLNode(.scalar(YAMLScalar(text: text)), mark: emitted) }

    /// A string, quoted by the emitter only where plain text would read differently.
    static func string(_ text: String) -> YAMLNode {
        YAMLNode(.scalar(YAMLScalar(text: text, style: .doubleQuoted)), mark: emitted)
    }

    /// Swift prints the shortest text that reads back as the same number (`0.001`, `1e-08`).
    static func number(_ value: some LosslessStringConvertible) -> YAMLNode { plain(value.description) }
}
