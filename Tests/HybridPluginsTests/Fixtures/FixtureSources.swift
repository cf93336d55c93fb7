import Foundation

enum FixtureSources {
    /// The worked example at the top of hybrid_plugin.h, from its `#include` to the closing
    /// ruler, with the comment's leading ` * ` taken off: compiling it proves the example
    /// still matches the header.
    static func headerExample() throws -> String {
        let header = try String(contentsOf: FixtureCompiler.header, encoding: .utf8)
        let lines = header.split(separator: "\n", omittingEmptySubsequences: false)
        guard let opening = lines.firstIndex(where: { $0.contains("─── A whole plugin") }),
              let first = lines[opening...].firstIndex(where: { $0.contains("#include \"hybrid_plugin.h\"") }),
              let closing = lines[first...].firstIndex(where: { $0.hasPrefix(" * ───") })
        else { throw FixtureError.exampleNotFound }
        return lines[first..<closing]
            .map { $0.hasPrefix(" * ") ? $0.dropFirst(3) : $0.dropFirst(2) }
            .joined(separator: "\n") + "\n"
    }

    /// A plugin whose every way of going wrong is a -D switch:
    ///   PLUGIN_NAME, PLUGIN_VERSION        descriptor strings ("fixture", "0.1.0")
    ///   DESCRIPTOR_MAJOR/_MINOR/_SIZE      the descriptor's header
    ///   FUNCTIONS_MAJOR                    the function table's header major
    ///   NO_ENTRY                           export no hybrid_objective_entry
    ///   ENTRY_ERROR="…"                    the entry fails with this message
    ///   CREATE_ECHOES_CONFIG               create fails, echoing what it received
    ///   BAD_TOKEN=n                        prepare_batch writes token n at [0, 0]
    ///   BAD_DEFAULT                        the float key's default is not a float
    ///   NO_BUILD                           build is NULL
    ///   UNDEFINED_SYMBOL                   needs a function nothing defines (dlopen fails)
    ///   KEYS, KEY_COUNT, WINDOW_EXTRA      the descriptor's config_keys, config_key_count, window_extra
    ///   WILD_DESCRIPTOR=address            the entry returns this address as the descriptor
    ///   RULES=name                         the descriptor's config_rules (ABI 1.5): good_rules, or
    ///                                      one of the broken sets below; default NULL
    /// It declares one key of each type; prepare_batch does what the causal objective does.
    static let configurable = #"""
        #include "hybrid_plugin.h"

        #ifndef PLUGIN_NAME
        #define PLUGIN_NAME "fixture"
        #endif
        #ifndef PLUGIN_VERSION
        #define PLUGIN_VERSION "0.1.0"
        #endif
        #ifndef DESCRIPTOR_MAJOR
        #define DESCRIPTOR_MAJOR HYBRID_ABI_MAJOR
        #endif
        #ifndef DESCRIPTOR_MINOR
        #define DESCRIPTOR_MINOR HYBRID_ABI_MINOR
        #endif
        #ifndef DESCRIPTOR_SIZE
        #define DESCRIPTOR_SIZE sizeof(hybrid_objective_descriptor)
        #endif
        #ifndef FUNCTIONS_MAJOR
        #define FUNCTIONS_MAJOR HYBRID_ABI_MAJOR
        #endif
        #ifndef KEYS
        #define KEYS keys
        #endif
        #ifndef KEY_COUNT
        #define KEY_COUNT 4
        #endif
        #ifndef WINDOW_EXTRA
        #define WINDOW_EXTRA 1
        #endif
        #ifdef BAD_DEFAULT
        #define RATE_DEFAULT "fast"
        #else
        #define RATE_DEFAULT "0.5"
        #endif

        __attribute__((unused)) static const hybrid_config_key keys[] = {
            { "steps", HYBRID_CONFIG_INT, "3", "an int" },
            { "rate", HYBRID_CONFIG_FLOAT, RATE_DEFAULT, "a float" },
            { "shuffle", HYBRID_CONFIG_BOOL, "true", "a bool" },
            { "schedule", HYBRID_CONFIG_STRING, "linear", "" },
        };

        #ifndef RULES
        #define RULES 0
        #endif
        __attribute__((unused)) static const char *const schedules[] = { "linear", "cosine" };
        __attribute__((unused)) static const hybrid_config_rule good_rules[] = {
            { 0, 0, HYBRID_BOUND_MIN, 1, 0 },
            { 0, 0, HYBRID_BOUND_MIN | HYBRID_BOUND_MIN_EXCLUSIVE | HYBRID_BOUND_MAX, 0, 1 },
            { 0 },
            { schedules, 2, 0, 0, 0 },
        };
        __attribute__((unused)) static const hybrid_config_rule choices_on_int[] = { { schedules, 2, 0, 0, 0 }, { 0 }, { 0 }, { 0 } };
        __attribute__((unused)) static const hybrid_config_rule inverted[] = { { 0, 0, HYBRID_BOUND_MIN | HYBRID_BOUND_MAX, 5, 1 }, { 0 }, { 0 }, { 0 } };
        __attribute__((unused)) static const hybrid_config_rule default_outside[] = { { 0 }, { 0, 0, HYBRID_BOUND_MAX, 0, 0.25 }, { 0 }, { 0 } };
        __attribute__((unused)) static const hybrid_config_rule bounds_on_bool[] = { { 0 }, { 0 }, { 0, 0, HYBRID_BOUND_MIN, 0, 0 }, { 0 } };

        static hybrid_status fixture_create(const hybrid_create_info *info, void **state,
                                            hybrid_error *err) {
        #ifdef CREATE_ECHOES_CONFIG
            return hybrid_fail(err, "%u values: %s=%lld %s=%g %s=%d %s=%s; d_model=%d seq_len=%d vocab=%d seed=%llu",
                               info->config_count,
                               info->config[0].name, (long long)info->config[0].int_value,
                               info->config[1].name, info->config[1].float_value,
                               info->config[2].name, info->config[2].bool_value,
                               info->config[3].name, info->config[3].string_value,
                               info->d_model, info->seq_len, info->vocab,
                               (unsigned long long)info->seed);
        #else
            *state = 0;
            return HYBRID_OK;
        #endif
        }

        static void fixture_destroy(void *state) {}

        static hybrid_status fixture_prepare(void *state, const hybrid_batch_request *req,
                                             hybrid_batch *out, hybrid_error *err) {
            int T = req->seq_len, W = T + 1;
            for (int b = 0; b < req->batch_size; b++)
                for (int t = 0; t < T; t++) {
                    out->tokens[b * T + t] = req->text[b * W + t];
                    out->targets[b * T + t] = req->text[b * W + t + 1];
                    out->loss_weights[b * T + t] = 1.0f;
                }
        #ifdef BAD_TOKEN
            out->tokens[0] = BAD_TOKEN;
        #endif
            return HYBRID_OK;
        }

        #ifdef NO_BUILD
        #define fixture_build 0
        #elif defined(OWN_MODEL_BATCH)
        static hybrid_status fixture_build(void *state, const hybrid_host_api *api, hybrid_graph *g,
                                           const hybrid_build_info *in, hybrid_build_result *out,
                                           hybrid_error *err) {
            out->loss = 0;
            out->output = 0;
            out->own_model_batch = OWN_MODEL_BATCH;
            return HYBRID_OK;
        }
        #else
        static hybrid_status fixture_build(void *state, const hybrid_host_api *api, hybrid_graph *g,
                                           const hybrid_build_info *in, hybrid_build_result *out,
                                           hybrid_error *err) {
            return hybrid_fail(err, "the fixture builds nothing");
        }
        #endif

        static const hybrid_objective_functions functions = {
            { sizeof(hybrid_objective_functions), FUNCTIONS_MAJOR, HYBRID_ABI_MINOR },
            fixture_create, fixture_destroy, fixture_prepare, fixture_build, 0,
        };
        __attribute__((unused)) static const hybrid_objective_descriptor descriptor = {
            { DESCRIPTOR_SIZE, DESCRIPTOR_MAJOR, DESCRIPTOR_MINOR },
            PLUGIN_NAME, PLUGIN_VERSION, "a test fixture",
            KEYS, KEY_COUNT, HYBRID_DATA_TEXT, WINDOW_EXTRA, &functions,
            0, RULES,
        };

        #ifdef UNDEFINED_SYMBOL
        extern int hybrid_fixture_undefined(void);
        int fixture_calls_undefined(void) { return hybrid_fixture_undefined(); }
        #endif

        #ifdef NO_ENTRY
        const hybrid_objective_descriptor *fixture_descriptor(void) { return &descriptor; }
        #else
        hybrid_status hybrid_objective_entry(const hybrid_host_info *host,
                                             const hybrid_objective_descriptor **out,
                                             hybrid_error *err) {
        #ifdef ENTRY_ERROR
            *out = &descriptor; /* a failed entry's descriptor must be ignored */
            return hybrid_fail(err, "%s (host ABI %u.%u, %s)", ENTRY_ERROR, host->header.abi_major,
                               host->header.abi_minor, host->host_version);
        #elif defined(WILD_DESCRIPTOR)
            *out = (const hybrid_objective_descriptor *)WILD_DESCRIPTOR;
            return HYBRID_OK;
        #else
            *out = &descriptor;
            return HYBRID_OK;
        #endif
        }
        #endif
        """#
}
