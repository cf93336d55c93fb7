/*
 * prefix_lm.c — a prefix language-modeling objective, in plain C, against hybrid_plugin.h.
 *
 * The first `prefix` bytes of each window are context the model reads in both directions
 * (bidirectional attention inside the prefix); the bytes after it are predicted one by one,
 * causally, as in T5's and UniLM's prefix-LM objective. It needs nothing from hybrid but the
 * header, and drops into a run without rebuilding hybrid:
 *
 *     cc -O2 -shared -fPIC -I Sources/CHybridPlugin/include \
 *        Plugins/PrefixLMObjective/prefix_lm.c -o libhybrid-objective-prefix_lm.so
 *     HYBRID_PLUGIN_PATH=$PWD hybrid plugins
 *
 * then in a recipe:  objectives: [{plugin: prefix_lm, config: {prefix: 32}}]
 *
 * Shapes: B batch, T seq_len; a window is T + 1 bytes; P = prefix.
 */
#include "hybrid_plugin.h"

#include <stdlib.h>

typedef struct prefix_lm_state {
    int32_t prefix; /* P: bytes of bidirectional context, 1 <= P < T */
} prefix_lm_state;

static const hybrid_config_key keys[] = {
    { "prefix", HYBRID_CONFIG_INT, "32",
      "bytes at the start of each window read bidirectionally and not predicted" },
};

/* ABI 1.5: the host refuses a prefix below 1 at the recipe's line; the bound above depends on
 * seq_len, which only create sees. */
static const hybrid_config_rule rules[] = {
    { NULL, 0, HYBRID_BOUND_MIN, 1.0, 0.0 },
};

static hybrid_status prefix_lm_create(const hybrid_create_info *info, void **state, hybrid_error *err) {
    int64_t prefix = hybrid_config_int(info, "prefix");
    if (prefix >= info->seq_len)
        return hybrid_fail(err, "config prefix is %lld; expected less than seq_len (%d)",
                           (long long)prefix, info->seq_len);
    prefix_lm_state *s = malloc(sizeof *s);
    if (!s) return hybrid_fail(err, "out of memory");
    s->prefix = (int32_t)prefix;
    *state = s;
    return HYBRID_OK;
}

static void prefix_lm_destroy(void *state) { free(state); }

/* text [B, T+1] → tokens = text[:, 0:T], targets = text[:, 1:T+1]; weight 1 where the target
 * lies after the prefix (t >= P-1: row P-1 sees exactly the prefix), 0 inside it. */
static hybrid_status prefix_lm_prepare(void *state, const hybrid_batch_request *req,
                                       hybrid_batch *out, hybrid_error *err) {
    const prefix_lm_state *s = state;
    int B = req->batch_size, T = req->seq_len, W = T + 1;
    if (s->prefix >= T)
        return hybrid_fail(err, "prefix %d does not fit a window of %d", s->prefix, T);
    for (int b = 0; b < B; b++) {
        const uint8_t *window = req->text + (size_t)b * W;
        for (int t = 0; t < T; t++) {
            out->tokens[b * T + t] = window[t];
            out->targets[b * T + t] = window[t + 1];
            out->loss_weights[b * T + t] = t >= s->prefix - 1 ? 1.0f : 0.0f;
        }
    }
    return HYBRID_OK;
}

/* tokens → shared embedding → backbone (prefix mask) → the shared byte head → cross-entropy. */
static hybrid_status prefix_lm_build(void *state, const hybrid_host_api *api, hybrid_graph *g,
                                     const hybrid_build_info *in, hybrid_build_result *out,
                                     hybrid_error *err) {
    const prefix_lm_state *s = state;
    hybrid_tensor x = api->token_embedding(g, in->tokens);
    hybrid_tensor h = api->backbone(g, x, HYBRID_MASK_PREFIX, s->prefix);
    hybrid_tensor logits = api->linear(g, h, "head", HYBRID_BYTE_VOCAB, 0);
    out->output = logits;
    if (in->mode == HYBRID_BUILD_TRAIN)
        out->loss = api->cross_entropy(g, logits, in->targets, in->loss_weights);
    return api->graph_status(g, err);
}

static const hybrid_objective_functions functions = {
    HYBRID_STRUCT_HEADER(hybrid_objective_functions),
    prefix_lm_create, prefix_lm_destroy, prefix_lm_prepare, prefix_lm_build,
    NULL, /* no sampler: text generation belongs to the causal objective */
};

static const hybrid_objective_descriptor descriptor = {
    HYBRID_STRUCT_HEADER(hybrid_objective_descriptor),
    "prefix_lm", "1.0.0",
    "prefix language modeling: bidirectional over a prefix, causal after it (plain C)",
    keys, sizeof keys / sizeof keys[0],
    HYBRID_DATA_TEXT, 1, &functions,
    0,     /* sample_kinds (ABI 1.1): none */
    rules, /* config_rules (ABI 1.5) */
};

hybrid_status hybrid_objective_entry(const hybrid_host_info *host,
                                     const hybrid_objective_descriptor **out, hybrid_error *err) {
    if (host->header.abi_major != HYBRID_ABI_MAJOR)
        return hybrid_fail(err, "prefix_lm was built for plugin ABI %d.x; the host speaks %d.%d",
                           HYBRID_ABI_MAJOR, host->header.abi_major, host->header.abi_minor);
    *out = &descriptor;
    return HYBRID_OK;
}
