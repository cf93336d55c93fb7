import CHybridPlugin
import Glibc

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
    public let config: [PluginConfigValue]

    let state: UnsafeMutableRawPointer?
    let errorBuffer: PluginErrorBuffer
    /// The `hybrid_config_value` array and its strings, alive as long as the state.
    private let configStorage: ConfigStorage

    /// Calls the plugin's create. `config` maps key names to values; a declared key left out
    /// gets its default, a key the plugin does not declare is an error, and an int is
    /// accepted for a float key.
    public init(plugin: LoadedPlugin, config: [String: PluginConfigValue] = [:],
                setup: ObjectiveSetup) throws(PluginError) {
        let values = try Self.resolve(config, keys: plugin.configKeys, path: plugin.path)
        let storage = ConfigStorage(keys: plugin.configKeys, values: values,
                                    declared: plugin.descriptor.pointee.config_keys)
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

    /// Turns a plugin function's status into a typed error naming `function`.
    func check(_ status: hybrid_status, _ function: String) throws(PluginError) {
        guard status == HYBRID_OK else { throw failure(function, errorBuffer.message) }
    }

    func failure(_ function: String, _ message: String) -> PluginError {
        .pluginFailed(path: plugin.path, function: function, message: message)
    }

    private static func resolve(_ config: [String: PluginConfigValue], keys: [PluginConfigKey],
                                path: String) throws(PluginError) -> [PluginConfigValue] {
        if let unknown = config.keys.sorted().first(where: { name in !keys.contains { $0.name == name } }) {
            let declared = keys.isEmpty ? "none" : keys.map(\.name).joined(separator: ", ")
            throw .invalidConfig(path: path, problem: "key \"\(unknown)\" is not declared "
                + "by the plugin (declared: \(declared))")
        }
        var values: [PluginConfigValue] = []
        for key in keys {
            let given = config[key.name]
            guard let value = given ?? PluginConfigValue(parsing: key.defaultValue, as: key.type) else {
                throw .invalidConfig(path: path, problem: "key \"\(key.name)\" has default "
                    + "\"\(key.defaultValue)\", which is not a \(key.type.rawValue)")
            }
            guard let converted = value.converted(to: key.type) else {
                throw .invalidConfig(path: path, problem: "key \"\(key.name)\" is a "
                    + "\(key.type.rawValue); found a \(value.type.rawValue)")
            }
            values.append(converted)
        }
        return values
    }
}

/// Owns the C copy of a resolved config: one `hybrid_config_value` per key and a C string
/// for each string value. Key names point at the plugin's own static storage.
private final class ConfigStorage {
    let values: UnsafeMutablePointer<hybrid_config_value>
    private let count: Int
    private var strings: [UnsafeMutablePointer<CChar>] = []

    init(keys: [PluginConfigKey], values resolved: [PluginConfigValue],
         declared: UnsafePointer<hybrid_config_key>?) {
        count = resolved.count
        values = .allocate(capacity: max(count, 1))
        for (index, value) in resolved.enumerated() {
            var cValue = hybrid_config_value()
            cValue.name = declared![index].name
            cValue.type = keys[index].type.cValue
            switch value {
            case .int(let int): cValue.int_value = int
            case .float(let float): cValue.float_value = float
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
