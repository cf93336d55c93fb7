/*
 * hybrid_plugin.h — the objective plugin ABI of hybrid, version 1.
 *
 * An objective plugin is a shared library named libhybrid-objective-NAME.so that exports
 * one function, `hybrid_objective_entry`. The runtime dlopen()s it, calls the entry with the
 * host's ABI version, and gets back a descriptor: the objective's name and version, the
 * config keys it accepts, and a table of functions. Everything the plugin adds to the model
 * it adds through the host API table, on opaque tensor handles; the host owns every tensor,
 * the plugin owns only its own state.
 *
 * ─── A whole plugin, worked through ─────────────────────────────────────────────────────
 * A next-byte objective in plain C (Plugins/ has the real ones). Build it with
 *     cc -shared -fPIC -I Sources/CHybridPlugin/include next.c -o libhybrid-objective-next.so
 * and name it in a recipe:  objectives: [{ plugin: ./libhybrid-objective-next.so }]
 *
 *   #include "hybrid_plugin.h"
 *   #include <stdlib.h>
 *
 *   typedef struct { int seq_len; double smoothing; } next_state;
 *
 *   static const hybrid_config_key keys[] = {
 *       { "smoothing", HYBRID_CONFIG_FLOAT, "0.0", "unused here; shows a declared key" },
 *   };
 *
 *   static hybrid_status next_create(const hybrid_create_info *info, void **state,
 *                                    hybrid_error *err) {
 *       next_state *s = calloc(1, sizeof *s);
 *       if (!s) return hybrid_fail(err, "out of memory");
 *       s->seq_len = info->seq_len;
 *       s->smoothing = hybrid_config_float(info, "smoothing");  // by name; or config[i] is keys[i]
 *       *state = s;
 *       return HYBRID_OK;
 *   }
 *
 *   static void next_destroy(void *state) { free(state); }
 *
 *   // The host drew B windows of seq_len + window_extra bytes; turn them into a batch.
 *   static hybrid_status next_prepare(void *state, const hybrid_batch_request *req,
 *                                     hybrid_batch *out, hybrid_error *err) {
 *       int T = req->seq_len, W = T + 1;
 *       for (int b = 0; b < req->batch_size; b++)
 *           for (int t = 0; t < T; t++) {
 *               out->tokens[b * T + t] = req->text[b * W + t];
 *               out->targets[b * T + t] = req->text[b * W + t + 1];
 *               out->loss_weights[b * T + t] = 1.0f;
 *           }
 *       return HYBRID_OK;
 *   }
 *
 *   // Once per graph build: embed, run the shared backbone, add a head and a loss.
 *   static hybrid_status next_build(void *state, const hybrid_host_api *api, hybrid_graph *g,
 *                                   const hybrid_build_info *in, hybrid_build_result *out,
 *                                   hybrid_error *err) {
 *       hybrid_tensor x = api->token_embedding(g, in->tokens);
 *       hybrid_tensor h = api->backbone(g, x, HYBRID_MASK_CAUSAL, 0);
 *       hybrid_tensor logits = api->linear(g, h, "head", HYBRID_BYTE_VOCAB, 0);
 *       out->output = logits;
 *       if (in->mode == HYBRID_BUILD_TRAIN)
 *           out->loss = api->cross_entropy(g, logits, in->targets, in->loss_weights);
 *       return api->graph_status(g, err);              // any op error ends up here
 *   }
 *
 *   static const hybrid_objective_functions functions = {
 *       HYBRID_STRUCT_HEADER(hybrid_objective_functions),
 *       next_create, next_destroy, next_prepare, next_build, NULL,   // no sampler
 *   };
 *   static const hybrid_objective_descriptor descriptor = {
 *       HYBRID_STRUCT_HEADER(hybrid_objective_descriptor),
 *       "next", "1.0.0", "next-byte prediction, causal attention",
 *       keys, 1, HYBRID_DATA_TEXT, 1, &functions, 0,   // 0: no sample kinds
 *   };
 *
 *   hybrid_status hybrid_objective_entry(const hybrid_host_info *host,
 *                                        const hybrid_objective_descriptor **out,
 *                                        hybrid_error *err) {
 *       *out = &descriptor;
 *       return HYBRID_OK;
 *   }
 * ────────────────────────────────────────────────────────────────────────────────────────
 *
 * Versioning. Every struct that crosses the boundary begins with a hybrid_struct_header:
 * its size in bytes and the ABI major.minor it was written for. Within a major version the
 * ABI only grows: new fields and functions are appended at the end of structs, so a reader
 * checks `size` before touching a field newer than its own minor. The host accepts a plugin
 * whose major equals the host's and whose minor is not above the host's.
 *
 * Errors. Every plugin function that can fail returns hybrid_status and, on failure, writes
 * a NUL-terminated message into the host-owned hybrid_error buffer (hybrid_fail does it).
 * Graph ops never fail loudly: a bad shape makes the op return HYBRID_NO_TENSOR and records
 * the message in the graph; api->graph_status reports it.
 *
 * Threads. The host calls a plugin from one thread at a time.
 */
#ifndef HYBRID_PLUGIN_H
#define HYBRID_PLUGIN_H

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HYBRID_ABI_MAJOR 1
#define HYBRID_ABI_MINOR 8

/** The one symbol a plugin exports. */
#define HYBRID_ENTRY_SYMBOL "hybrid_objective_entry"

/** Token ids: the 256 byte values, then the special tokens. */
#define HYBRID_BYTE_VOCAB 256
#define HYBRID_TOKEN_MASK 256
#define HYBRID_TOKEN_BOS 257
#define HYBRID_TOKEN_EOS 258
#define HYBRID_TOKEN_PAD 259
#define HYBRID_VOCAB 260

typedef enum hybrid_status { HYBRID_OK = 0, HYBRID_FAILED = 1 } hybrid_status;

typedef struct hybrid_struct_header {
    uint32_t size;      /* sizeof the whole struct, as the writer compiled it */
    uint16_t abi_major;
    uint16_t abi_minor;
} hybrid_struct_header;

#define HYBRID_STRUCT_HEADER(type) { (uint32_t)sizeof(type), HYBRID_ABI_MAJOR, HYBRID_ABI_MINOR }

/** A host-owned buffer for one error message. */
typedef struct hybrid_error {
    char *message;
    size_t capacity;
} hybrid_error;

/** Writes a printf-style message into err (truncated to fit) and returns HYBRID_FAILED. */
static inline hybrid_status hybrid_fail(hybrid_error *err, const char *format, ...) {
    if (err && err->message && err->capacity > 0) {
        va_list args;
        va_start(args, format);
        vsnprintf(err->message, err->capacity, format, args);
        va_end(args);
    }
    return HYBRID_FAILED;
}

/* ─── Schedules (ABI 1.1) ───────────────────────────────────────────────────────────────── */

/** How a value moves from `start` to `end` over a run: objective weights in recipes, and any
 *  setting a plugin schedules itself (e.g. a masking rate, "dynamic masking"). */
typedef enum hybrid_schedule_kind {
    HYBRID_SCHEDULE_CONSTANT = 0, /* start throughout */
    HYBRID_SCHEDULE_LINEAR = 1,   /* straight line from start to end */
    HYBRID_SCHEDULE_COSINE = 2,   /* half a cosine from start to end: slow, fast, slow */
} hybrid_schedule_kind;

/** The scheduled value at `progress` (clamped to 0...1). */
static inline float hybrid_schedule(hybrid_schedule_kind kind, float start, float end, float progress) {
    float p = progress < 0.0f ? 0.0f : progress > 1.0f ? 1.0f : progress;
    switch (kind) {
    case HYBRID_SCHEDULE_LINEAR: return start + (end - start) * p;
    case HYBRID_SCHEDULE_COSINE: return end + (start - end) * 0.5f * (1.0f + cosf(3.14159265358979f * p));
    default: return start;
    }
}

/* ─── Describing a plugin ─────────────────────────────────────────────────────────────── */

typedef enum hybrid_config_type {
    HYBRID_CONFIG_INT = 0,
    HYBRID_CONFIG_FLOAT = 1,
    HYBRID_CONFIG_BOOL = 2,
    HYBRID_CONFIG_STRING = 3,
} hybrid_config_type;

/** One key of the objective's `config:` section in a recipe. The host checks recipes
 *  against these (unknown keys, types) and fills in defaults. */
typedef struct hybrid_config_key {
    const char *name;
    hybrid_config_type type;
    const char *default_value; /* written as in YAML: "0.15", "true", "linear" */
    const char *doc;
} hybrid_config_key;

/** ABI 1.5: the values a config key allows. The host checks a recipe's value at its YAML node
 *  against the rule (file:line:col, what was expected, what was found, a did-you-mean for a
 *  choice), so create sees only allowed values. descriptor.config_rules holds one rule per
 *  declared key, in declaration order; a zeroed rule allows any value of the key's type.
 *
 *      static const char *const schedules[] = { "constant", "linear", "cosine" };
 *      static const hybrid_config_rule rules[] = {
 *          { NULL, 0, HYBRID_BOUND_MIN | HYBRID_BOUND_MIN_EXCLUSIVE | HYBRID_BOUND_MAX, 0.0, 1.0 },  // rate in (0, 1]
 *          { schedules, 3, 0, 0, 0 },                                                             // rate_schedule
 *      };
 */
typedef struct hybrid_config_rule {
    const char *const *choices; /* string keys: the choice_count allowed values; NULL: any string */
    uint32_t choice_count;
    uint32_t bounds;            /* int and float keys: HYBRID_BOUND_* bits */
    double minimum;             /* with HYBRID_BOUND_MIN: value >= minimum (> with _MIN_EXCLUSIVE) */
    double maximum;             /* with HYBRID_BOUND_MAX: value <= maximum (< with _MAX_EXCLUSIVE) */
} hybrid_config_rule;

#define HYBRID_BOUND_MIN 1u
#define HYBRID_BOUND_MIN_EXCLUSIVE 2u
#define HYBRID_BOUND_MAX 4u
#define HYBRID_BOUND_MAX_EXCLUSIVE 8u

/** A resolved config value; the field matching `type` is set. Strings live as long as the
 *  plugin state (until destroy). */
typedef struct hybrid_config_value {
    const char *name;
    hybrid_config_type type;
    int64_t int_value;
    double float_value;
    int32_t bool_value;
    const char *string_value;
} hybrid_config_value;

/** What raw examples the host hands to prepare_batch. */
typedef enum hybrid_data_kind {
    HYBRID_DATA_TEXT = 0,   /* byte windows of seq_len + window_extra bytes */
    HYBRID_DATA_IMAGES = 1, /* ABI 1.1: square grey images in [-1, 1], with class labels */
} hybrid_data_kind;

typedef struct hybrid_objective_functions hybrid_objective_functions;

typedef struct hybrid_objective_descriptor {
    hybrid_struct_header header;
    const char *name;        /* short, [a-z0-9_-]; the recipe's `plugin:` name */
    const char *version;     /* the plugin's own version */
    const char *description; /* one line */
    const hybrid_config_key *config_keys;
    uint32_t config_key_count;
    hybrid_data_kind data_kind;
    uint32_t window_extra;   /* text: extra bytes per window beyond seq_len (1 for shifted targets) */
    const hybrid_objective_functions *functions;
    /* ── ABI 1.1 ── */
    uint32_t sample_kinds;   /* HYBRID_SAMPLES_* bits; a 1.0 plugin with a sample() continues text */
    /* ── ABI 1.5 ── */
    const hybrid_config_rule *config_rules; /* NULL, or one per config key: what values it allows */
} hybrid_objective_descriptor;

/** What a plugin's sample() does with the prompt (descriptor.sample_kinds, ABI 1.1). */
#define HYBRID_SAMPLES_CONTINUATION 1u /* generates new_tokens after the prompt */
#define HYBRID_SAMPLES_INFILL 2u       /* replaces the prompt's HYBRID_TOKEN_MASK tokens */
#define HYBRID_SAMPLES_IMAGES 4u       /* draws request->images images (api->sampler_run) */

typedef struct hybrid_host_info {
    hybrid_struct_header header; /* the host's ABI version */
    const char *host_version;
} hybrid_host_info;

/* ─── Run-time context handed to the plugin ───────────────────────────────────────────── */

/** Opaque host objects. */
typedef struct hybrid_graph hybrid_graph;
typedef struct hybrid_rng hybrid_rng;
typedef struct hybrid_sampler hybrid_sampler;

/** A tensor in the graph being built; HYBRID_NO_TENSOR after a failed op. */
typedef int32_t hybrid_tensor;
#define HYBRID_NO_TENSOR ((hybrid_tensor)-1)

typedef enum hybrid_mask_kind {
    HYBRID_MASK_CAUSAL = 0,        /* position t sees 0...t */
    HYBRID_MASK_BIDIRECTIONAL = 1, /* every position sees every position */
    HYBRID_MASK_PREFIX = 2,        /* positions < prefix see the prefix; later ones are causal */
    HYBRID_MASK_TAIL_BLOCK = 3,    /* ABI 1.2: positions < prefix are causal; positions >= prefix
                                      (a block at the end, e.g. an image after its caption, as in
                                      Transfusion) see every position */
} hybrid_mask_kind;

typedef enum hybrid_init {
    HYBRID_INIT_ZEROS = 0,
    HYBRID_INIT_ONES = 1,
    HYBRID_INIT_NORMAL = 2, /* N(0, scale) */
} hybrid_init;

typedef struct hybrid_create_info {
    hybrid_struct_header header;
    const hybrid_config_value *config; /* one per declared key, in declaration order */
    uint32_t config_count;
    int32_t d_model;
    int32_t seq_len;
    int32_t vocab;          /* HYBRID_VOCAB */
    uint64_t seed;          /* the run's seed, for plugins that keep their own RNG */
} hybrid_create_info;

/** The resolved value of config key `name`; NULL when the plugin declares no such key. Read
 *  config by name (these helpers), so keys can be added without renumbering. */
static inline const hybrid_config_value *hybrid_config_find(const hybrid_create_info *info, const char *name) {
    for (uint32_t i = 0; i < info->config_count; i++)
        if (info->config[i].name && strcmp(info->config[i].name, name) == 0) return &info->config[i];
    return NULL;
}
static inline double hybrid_config_float(const hybrid_create_info *info, const char *name) {
    const hybrid_config_value *v = hybrid_config_find(info, name);
    return v ? v->float_value : 0.0;
}
static inline int64_t hybrid_config_int(const hybrid_create_info *info, const char *name) {
    const hybrid_config_value *v = hybrid_config_find(info, name);
    return v ? v->int_value : 0;
}
static inline int hybrid_config_bool(const hybrid_create_info *info, const char *name) {
    const hybrid_config_value *v = hybrid_config_find(info, name);
    return v ? v->bool_value : 0;
}
static inline const char *hybrid_config_string(const hybrid_create_info *info, const char *name) {
    const hybrid_config_value *v = hybrid_config_find(info, name);
    return v && v->string_value ? v->string_value : "";
}

typedef struct hybrid_host_api hybrid_host_api;

typedef struct hybrid_batch_request {
    hybrid_struct_header header;
    int32_t batch_size;      /* B */
    int32_t seq_len;         /* T */
    const uint8_t *text;     /* [B, T + window_extra] raw bytes, row-major */
    const hybrid_host_api *api; /* for api->rng_* */
    hybrid_rng *rng;         /* this objective's stream; deterministic for a run's seed */
    /* ── ABI 1.1 ── */
    float progress;          /* fraction of the run done, 0...1 (0 for validation batches), for
                                objectives that schedule their own settings (hybrid_schedule) */
    int32_t is_validation;   /* 1 for held-out batches (drawn once, scored many times): an
                                objective may use fixed settings there, e.g. a timestep grid */
    const float *images;     /* images: [B, image_side, image_side, image_channels] values in
                                [-1, 1], row-major, channels interleaved */
    const int32_t *labels;   /* images: [B] class labels */
    int32_t image_side;
    /* ── ABI 1.2 ── */
    hybrid_sampler *teacher; /* the objective's frozen teacher (a recipe `teacher:` checkpoint,
                                built by this objective's own build in inference mode at batch
                                size B), run with api->sampler_run; NULL when there is none */
    /* ── ABI 1.3 ── */
    int32_t image_channels;  /* images: 1 (grey) or 3 (RGB); a 1.2 host's images are grey */
    const uint8_t *captions; /* images: [B, caption_width] each image's caption bytes, 0-padded;
                                NULL when the data has no captions */
    const int32_t *caption_lengths; /* images: [B] bytes of each caption */
    int32_t caption_width;
    /* ── ABI 1.8 ── */
    hybrid_sampler *own_model; /* the objective's own inference graph over the weights being
                                trained, at their values of this step, at batch size
                                build_result.own_model_batch, run with api->sampler_run on the
                                first rows of the batch's inputs (self-consistency targets, as
                                the shortcut objective makes them; its output carries no
                                gradient); NULL when build asked for none */
} hybrid_batch_request;

/** Host-owned buffers the plugin fills. */
typedef struct hybrid_batch {
    hybrid_struct_header header;
    int32_t *tokens;         /* [B, T] model input ids, < HYBRID_VOCAB */
    int32_t *targets;        /* [B, T] ids the loss predicts, < HYBRID_BYTE_VOCAB */
    float *loss_weights;     /* [B, T] per-position weight; 0 leaves a position out */
    /* ── ABI 1.1 ── */
    /* The buffer of a float input the plugin created with api->input in build (text
     * objectives may add some; image objectives have only these), and its element count;
     * NULL for an unknown name. Call as batch->input_buffer(batch->host, "noisy", &count). */
    float *(*input_buffer)(void *host, const char *name, int64_t *count);
    void *host;
} hybrid_batch;

typedef enum hybrid_build_mode {
    HYBRID_BUILD_TRAIN = 0, /* set result->loss (a scalar) and result->output */
    HYBRID_BUILD_INFER = 1, /* set result->output only; targets/loss_weights are NO_TENSOR */
} hybrid_build_mode;

typedef struct hybrid_build_info {
    hybrid_struct_header header;
    hybrid_build_mode mode;
    int32_t batch_size;
    int32_t seq_len;
    int32_t d_model;
    hybrid_tensor tokens;       /* int32 [B, T]; NO_TENSOR for image objectives */
    hybrid_tensor targets;      /* int32 [B, T]; NO_TENSOR for image objectives and inference */
    hybrid_tensor loss_weights; /* float [B, T]; NO_TENSOR for image objectives and inference */
} hybrid_build_info;

typedef struct hybrid_build_result {
    hybrid_struct_header header;
    hybrid_tensor loss;   /* scalar */
    hybrid_tensor output; /* e.g. logits [B, T, 256] */
    /* ── ABI 1.8 ── */
    int32_t own_model_batch; /* train mode: 1...B asks for request->own_model in prepare_batch,
                                built by this objective's own build in inference mode at this
                                batch size; 0 (what the host sets): none */
} hybrid_build_result;

/** Image samplers a request may ask for (ABI 1.2). */
typedef enum hybrid_image_sampler {
    HYBRID_SAMPLER_DEFAULT = 0, /* the objective's own choice for the step count */
    HYBRID_SAMPLER_DDPM = 1,    /* ancestral, one step per training level */
    HYBRID_SAMPLER_DDIM = 2,    /* any number of steps, eta-controlled noise */
} hybrid_image_sampler;

typedef struct hybrid_sample_request {
    hybrid_struct_header header;
    const int32_t *prompt; /* prompt token ids */
    int32_t prompt_length;
    int32_t new_tokens;    /* how many to generate */
    int32_t seq_len;       /* the model's context window */
    /* ── ABI 1.1 ── */
    int32_t images;        /* images: how many to draw (the inference graph's batch size) */
    int32_t steps;         /* images: sampler steps (0: the objective's default) */
    int32_t image_side;
    hybrid_rng *rng;       /* the sampling stream, seeded by the user (images; text too from
                              ABI 1.7: apart from the picker's, e.g. for an unmasking order) */
    /* ── ABI 1.2 ── */
    const int32_t *labels; /* images: [images] class labels to draw, or NULL (unconditional) */
    float guidance;        /* images: classifier-free guidance scale w (1: plain conditional):
                              output = uncond + w (cond - uncond) */
    hybrid_image_sampler sampler; /* images: which sampler (DEFAULT: the objective's own) */
    float eta;             /* images, DDIM: noise scale (0: deterministic, 1: DDPM-like) */
    /* ── ABI 1.3 ── */
    int32_t image_channels; /* images: 1 (grey) or 3 (RGB); a 1.2 host asks for grey */
    const uint8_t *captions; /* images: [images, caption_width] the caption to draw each image
                                for, 0-padded; NULL: no caption (unconditional) */
    const int32_t *caption_lengths; /* images: [images] bytes of each caption */
    int32_t caption_width;
} hybrid_sample_request;

/* ─── The host API ────────────────────────────────────────────────────────────────────── */

/**
 * Graph ops add a node and return its output. Tensors are row-major; a tensor [B, T, C]
 * may be passed where [N, C] is meant (N = B*T). Parameters are created by name and shared:
 * asking again for a name returns the same parameter (shapes must agree), so objectives that
 * name the same parameter train it together.
 */
struct hybrid_host_api {
    hybrid_struct_header header;

    /* Shapes. */
    int32_t (*rank)(hybrid_graph *g, hybrid_tensor t);
    int64_t (*dim)(hybrid_graph *g, hybrid_tensor t, int32_t axis);

    /* Parameters: `name` is global across objectives; weight_decay 1 marks a decayed one. */
    hybrid_tensor (*parameter)(hybrid_graph *g, const char *name, int32_t rank,
                               const int64_t *shape, hybrid_init init, float scale,
                               int32_t weight_decay);

    /* The shared model. token_embedding: int32 [B, T] -> [B, T, C] from the shared table.
     * backbone: [B, T, C] -> [B, T, C]: adds learned positions, runs the transformer blocks
     * with the given mask, then the final LayerNorm. */
    hybrid_tensor (*token_embedding)(hybrid_graph *g, hybrid_tensor tokens);
    hybrid_tensor (*backbone)(hybrid_graph *g, hybrid_tensor x, hybrid_mask_kind mask,
                              int32_t prefix);

    /* Layers with their own named parameters (created on first use). */
    hybrid_tensor (*linear)(hybrid_graph *g, hybrid_tensor x, const char *name,
                            int64_t out_features, int32_t bias);
    hybrid_tensor (*layer_norm)(hybrid_graph *g, hybrid_tensor x, const char *name);

    /* Elementwise. */
    hybrid_tensor (*add)(hybrid_graph *g, hybrid_tensor a, hybrid_tensor b);
    hybrid_tensor (*mul)(hybrid_graph *g, hybrid_tensor a, hybrid_tensor b);
    hybrid_tensor (*scale)(hybrid_graph *g, hybrid_tensor x, float s);
    hybrid_tensor (*gelu)(hybrid_graph *g, hybrid_tensor x);

    /* Losses (scalars). cross_entropy: logits [N, V] float, targets int32 [N], weights [N]:
     * sum_i w_i * CE_i / max(sum_i w_i, 1). */
    hybrid_tensor (*cross_entropy)(hybrid_graph *g, hybrid_tensor logits, hybrid_tensor targets,
                                   hybrid_tensor weights);
    hybrid_tensor (*mean)(hybrid_graph *g, hybrid_tensor x);

    /* HYBRID_OK, or HYBRID_FAILED with the first op error copied into err. */
    hybrid_status (*graph_status)(hybrid_graph *g, hybrid_error *err);

    /* The objective's random stream. */
    uint64_t (*rng_next)(hybrid_rng *rng);
    float (*rng_uniform)(hybrid_rng *rng); /* [0, 1) */

    /* Sampling (valid inside sample()). forward: logits [256] of the last of `count`
     * tokens (count <= seq_len). pick: a token from logits, under the user's temperature,
     * top-k and seed. emit: hands a generated token to the user. */
    hybrid_status (*sampler_forward)(hybrid_sampler *s, const int32_t *tokens, int32_t count,
                                     float *logits, hybrid_error *err);
    int32_t (*sampler_pick)(hybrid_sampler *s, const float *logits, int32_t count);
    void (*sampler_emit)(hybrid_sampler *s, int32_t token);

    /* A line for the run's log. */
    void (*log)(hybrid_graph *g, const char *message);

    /* ── ABI 1.1 (check header.size before use) ── */
    /* Sampling: logits [count, 256] for every one of `count` tokens (count <= seq_len),
     * for objectives that fill in positions anywhere in the sequence. */
    hybrid_status (*sampler_forward_all)(hybrid_sampler *s, const int32_t *tokens, int32_t count,
                                         float *logits, hybrid_error *err);
    /* Loss (scalar). mse: prediction [N, F] float, target [N, F] float, weights [N]:
     * sum_i w_i * mean_f (p_if - t_if)^2 / max(sum_i w_i, 1), the normaliser cross_entropy
     * uses. The gradient reaches prediction, and target when it depends on a parameter;
     * weights must not (the op fails). Rows of weight 0 are never read. */
    hybrid_tensor (*mse)(hybrid_graph *g, hybrid_tensor prediction, hybrid_tensor target,
                         hybrid_tensor weights);

    /* A float input of the given shape, filled per batch by prepare_batch through
     * batch->input_buffer, or per call by sampler_run. Names are unique within a graph. */
    hybrid_tensor (*input)(hybrid_graph *g, const char *name, int32_t rank, const int64_t *shape);

    /* Sampling (images): runs the inference graph with `count` named float inputs (each as
     * many values as its shape holds) and copies the build's output into `output`. */
    hybrid_status (*sampler_run)(hybrid_sampler *s, const char *const *names, const float *const *values,
                                 int32_t count, float *output, hybrid_error *err);
    /* Hands a finished image (image_side^2 · image_channels values in [-1, 1], channels
     * interleaved) to the user. */
    void (*sampler_emit_image)(hybrid_sampler *s, const float *pixels);

    /* ── ABI 1.3 ── */
    /* An int32 input of token ids (for api->token_embedding and cross_entropy's targets),
     * like api->input: prepare_batch fills it through batch->input_buffer (cast the float *
     * it returns to int32_t *), and sampler_run copies it bit for bit from the values it is
     * handed (pass an int32_t array cast to const float *). After prepare_batch the host checks
     * every id is in 0..<HYBRID_VOCAB. */
    hybrid_tensor (*input_int32)(hybrid_graph *g, const char *name, int32_t rank, const int64_t *shape);

    /* ── ABI 1.4 ── */
    /* backbone, with positions image_start..T-1 of x [B, T, C] marked as an image's (0: the
     * whole sequence; T: none, as backbone). Under the recipe's model.image_experts each block
     * runs those positions through the image's own second LayerNorm and feed-forward weights
     * and the others through the shared ones, attention shared by all (VLMo's modality
     * experts); without it this is backbone. */
    hybrid_tensor (*backbone_image)(hybrid_graph *g, hybrid_tensor x, hybrid_mask_kind mask,
                                    int32_t prefix, int32_t image_start);

    /* ── ABI 1.6 ── */
    /* cross_entropy divided by the rows N instead of sum_i w_i: sum_i w_i * CE_i / max(N, 1),
     * a weighted sum per position. For weights that carry an ELBO's factors (masked diffusion's
     * 1/t on each masked byte), so the loss is a bound in nats per position; data-parallel
     * ranks are weighed by their rows. */
    hybrid_tensor (*cross_entropy_per_row)(hybrid_graph *g, hybrid_tensor logits, hybrid_tensor targets,
                                           hybrid_tensor weights);
};

/* ─── What the plugin implements ──────────────────────────────────────────────────────── */

struct hybrid_objective_functions {
    hybrid_struct_header header;

    /** Makes the plugin's state from its resolved config. */
    hybrid_status (*create)(const hybrid_create_info *info, void **state, hybrid_error *err);

    /** Frees the state. */
    void (*destroy)(void *state);

    /** Turns raw examples into inputs, targets and loss weights. Pure CPU work; may use only
     *  request->rng for randomness, so a run's seed fixes every batch. */
    hybrid_status (*prepare_batch)(void *state, const hybrid_batch_request *request,
                                   hybrid_batch *batch, hybrid_error *err);

    /** Adds the objective's model (embedding → backbone → head → loss) to the graph. Called
     *  once per (objective, batch shape, mode). */
    hybrid_status (*build)(void *state, const hybrid_host_api *api, hybrid_graph *g,
                           const hybrid_build_info *info, hybrid_build_result *result,
                           hybrid_error *err);

    /** Optional (NULL if the objective cannot sample). A continuation sampler generates
     *  request->new_tokens after the prompt through api->sampler_forward / sampler_pick /
     *  sampler_emit; an infilling one (ABI 1.1) replaces the prompt's HYBRID_TOKEN_MASK
     *  tokens using api->sampler_forward_all and emits the whole filled sequence. */
    hybrid_status (*sample)(void *state, const hybrid_host_api *api, hybrid_sampler *sampler,
                            const hybrid_sample_request *request, hybrid_error *err);
};

/**
 * The entry point. `host` carries the host's ABI version: a plugin that needs a newer host
 * may refuse here. On success *descriptor points at storage that lives as long as the
 * library (the host never unloads plugins).
 */
typedef hybrid_status (*hybrid_objective_entry_fn)(const hybrid_host_info *host,
                                                   const hybrid_objective_descriptor **descriptor,
                                                   hybrid_error *err);

#ifdef __cplusplus
}
#endif

#endif /* HYBRID_PLUGIN_H */
