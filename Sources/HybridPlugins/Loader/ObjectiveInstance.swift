import CHybridPlugin
import Glibc
import HybridRecipe

/// The model facts a plugin's create receives besides its config.
public struct ObjectiveSetup: Sendable, Equatable {
    public var dModel: Int
    public var seqLen: Int
    public var vocab: Int
    /// The run's seed, for plugins that keep their own RNG.
    public var seed: UInt64

    public init(dModel: Int, seqLen: Int, vocab: Int = Int(HYBRID_VOCAB), seed: UInt64) {
        self.dModel = dModel
        self.seqLen = seqLen
        self.vocab = vocab
        self.seed = seed
    }
}

/// One objective's plugin state: made by the plugin's create, freed by its destroy when this
/// object goes away. Calls must not overlap (the ABI's one-thread-at-a-time rule).
public final class ObjectiveInstance {
    public let plugin: LoadedPlugin
    public let setup: ObjectiveSetup
    /// The values create received, one per declared key in declaration order.
    public let config: [ConfigValue]

    let state: UnsafeMutableRawPointer?
    let errorBuffer: PluginErrorBuffer
    /// The `hybrid_config_value` array and its strings, alive as long as the state.
    private let configStorage: ConfigStorage

    /// Calls the plugin's create. `config` is what `resolvePluginConfig` returns for the
    /// plugin's keys: every declared key, in declaration order, with a value of its type.
    public init(plugin: LoadedPlugin, config: [(name: String, value: ConfigValue)],
                setup: ObjectiveSetup) throws(PluginError) {
        try Self.check(config, keys: plugin.configKeys, path: plugin.path)
        let values = config.map(\.value)
        let storage = ConfigStorage(values: values, declared: plugin.descriptor.pointee.config_keys)
        var info = hybrid_create_info(
            header: PluginABI.header(for: hybrid_create_info.self),
            config: UnsafePointer(storage.values), config_count: UInt32(values.count),
            d_model: Int32(setup.dModel), seq_len: Int32(setup.seqLen),
            vocab: Int32(setup.vocab), seed: setup.seed)
        let errorBuffer = PluginErrorBuffer()
        var state: UnsafeMutableRawPointer?
        let status = plugin.functions.pointee.create!(&info, &state, errorBuffer.prepared())
        guard status == HYBRID_OK else {
            throw .pluginFailed(path: plugin.path, function: "create", message: errorBuffer.message)
        }
        self.plugin = plugin
        self.setup = setup
        self.config = values
        self.state = state
        self.errorBuffer = errorBuffer
        self.configStorage = storage
    }

    deinit {
        if let state { plugin.functions.pointee.destroy!(state) }
    }

    /// The value create received for key `name`; nil when the plugin declares no such key.
    public func value(of name: String) -> ConfigValue? {
        plugin.configKeys.firstIndex { $0.name == name }.map { config[$0] }
    }

    /// What the plugin assumes of its teacher: each `teacher_<key>` it declares (distill's
    /// teacher_prediction, teacher_steps), with its value and the teacher's `<key>`.
    public var teacherAssumptions: [(key: String, value: ConfigValue, teacherKey: String)] {
        zip(plugin.configKeys, config).compactMap { spec, value in
            spec.name.hasPrefix("teacher_") ? (spec.name, value, String(spec.name.dropFirst("teacher_".count))) : nil
        }
    }

    /// Turns a plugin function's status into a typed error naming `function`.
    func check(_ status: hybrid_status, _ function: String) throws(PluginError) {
        guard status == HYBRID_OK else { throw failure(function, errorBuffer.message) }
    }

    func failure(_ function: String, _ message: String) -> PluginError {
        .pluginFailed(path: plugin.path, function: function, message: message)
    }

    /// Refuses values that are not one per declared key, in order, each of its key's type.
    private static func check(_ config: [(name: String, value: ConfigValue)], keys: [ConfigKeySpec],
                              path: String) throws(PluginError) {
        func list(_ names: [String]) -> String { names.isEmpty ? "none" : names.joined(separator: ", ") }
        guard config.map(\.name) == keys.map(\.name) else {
            throw .invalidConfig(path: path, problem: "expected a value for each declared key in order ("
                + list(keys.map(\.name)) + "); found " + list(config.map(\.name)))
        }
        for (key, value) in zip(keys, config.map(\.value)) where value.type != key.type {
            throw .invalidConfig(path: path, problem: "key \"\(key.name)\" is a "
                + "\(key.type.rawValue); found a \(value.type.rawValue)")
        }
    }
}

/// Owns the C copy of a resolved config: one `hybrid_config_value` per key and a C string
/// for each string value. Key names point at the plugin's own static storage.
private final class ConfigStorage {
    let values: UnsafeMutablePointer<hybrid_config_value>
    private let count: Int
    private var strings: [UnsafeMutablePointer<CChar>] = []

    init(values resolved: [ConfigValue], declared: UnsafePointer<hybrid_config_key>?) {
        count = resolved.count
        values = .allocate(capacity: max(count, 1))
        for (index, value) in resolved.enumerated() {
            var cValue = hybrid_config_value()
            cValue.name = declared![index].name
            cValue.type = value.type.cValue
            switch value {
            case .int(let int): cValue.int_value = Int64(int)
            case .float(let float): cValue.float_value = Double(float)
            case .bool(let bool): cValue.bool_value = bool ? 1 : 0
            case .string(let string):
                let copy = strdup(string)!
                strings.append(copy)
                cValue.string_value = UnsafePointer(copy)
            }
            (values + index).initialize(to: cValue)
        }
    }

    deinit {
        values.deinitialize(count: count)
        values.deallocate()
        strings.forEach { free($0) }
    }
}
