import CHybridPlugin
import HybridRecipe

/// A config key's type as the C ABI spells it: `hybrid_config_type`.
extension ConfigKeySpec.ValueType {
    init?(_ type: hybrid_config_type) {
        switch type {
        case HYBRID_CONFIG_INT: self = .int
        case HYBRID_CONFIG_FLOAT: self = .float
        case HYBRID_CONFIG_BOOL: self = .bool
        case HYBRID_CONFIG_STRING: self = .string
        default: return nil
        }
    }

    var cValue: hybrid_config_type {
        switch self {
        case .int: HYBRID_CONFIG_INT
        case .float: HYBRID_CONFIG_FLOAT
        case .bool: HYBRID_CONFIG_BOOL
        case .string: HYBRID_CONFIG_STRING
        }
    }
}
