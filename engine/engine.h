/* thermabench reference inference engine: Llama-architecture models from
 * llama2.c checkpoints, GGUF files or seeded synthetic presets; a tokenizer;
 * a batched forward pass (prefill as matrix-matrix work, decode one token per
 * sequence per step); a sampler; and a registry of named kernel variants.
 *
 * Errors are returned, never printed: functions that can fail take an
 * engine_error and return 0 on success, -1 on failure with err->msg filled
 * (file, byte offset or field, what was expected). err->kind tells an input
 * error (a bad file or argument: exit code 2) from a system error.
 *
 * The engine knows nothing of the harness or the probes; it reports phase
 * boundaries through an optional callback so a caller can mark them. */
#ifndef THERMABENCH_ENGINE_H
#define THERMABENCH_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum engine_error_kind {
    ENGINE_ERR_NONE = 0,
    ENGINE_ERR_INPUT,    /* malformed file, bad argument, unknown name: exit 2 */
    ENGINE_ERR_SYSTEM,   /* out of memory, I/O failure, device failure */
    ENGINE_ERR_UNSUPPORTED /* valid request this machine cannot run (CPU feature, no OpenCL) */
} engine_error_kind;

typedef struct engine_error {
    engine_error_kind kind;
    char msg[1024];
} engine_error;

/* ---- weights ---------------------------------------------------------- */

typedef enum engine_dtype {
    ENGINE_DTYPE_F32 = 0,
    ENGINE_DTYPE_F16,
    ENGINE_DTYPE_BF16,
    ENGINE_DTYPE_Q8_0,   /* ggml block: f16 scale + 32 int8 */
    ENGINE_DTYPE_Q4_0,   /* ggml block: f16 scale + 16 bytes of 4-bit pairs */
    ENGINE_DTYPE_Q4_K,   /* ggml super-block of 256: 8 sub-blocks, 6-bit scales and mins, 4-bit quants */
    ENGINE_DTYPE_Q5_K,   /* as q4_k with 5-bit quants */
    ENGINE_DTYPE_Q6_K,   /* ggml super-block of 256: 16 int8 scales, 6-bit quants */
    ENGINE_DTYPE_COUNT
} engine_dtype;

const char *engine_dtype_name(engine_dtype t);               /* "f32", "q8_0", ... */
int engine_dtype_parse(const char *name, engine_dtype *out); /* 0 or -1 */
/* Bytes for n elements of type t (n a multiple of the block size for quantized types). */
size_t engine_dtype_bytes(engine_dtype t, int64_t n);

/* A 2-D weight matrix, row-major: `rows` output features of `cols` inputs.
 * Quantized rows are whole blocks along cols. `data` may point into a mapping. */
typedef struct engine_tensor {
    engine_dtype type;
    int64_t rows, cols;
    const void *data;
} engine_tensor;

/* Model families, as GGUF's general.architecture names them. They differ
 * in small steps of the same layer (see session.c): qwen2 adds q/k/v
 * biases, qwen3 a per-head RMSNorm of q and k; both rotate the two halves
 * of a head (NeoX RoPE) where llama rotates adjacent pairs. */
typedef enum engine_arch {
    ENGINE_ARCH_LLAMA = 0,
    ENGINE_ARCH_QWEN2,
    ENGINE_ARCH_QWEN3,
    ENGINE_ARCH_COUNT
} engine_arch;

const char *engine_arch_name(engine_arch a);               /* "llama", "qwen2", "qwen3" */
int engine_arch_parse(const char *name, engine_arch *out); /* 0 or -1 */

typedef struct engine_config {
    int dim;          /* model width */
    int hidden_dim;   /* feed-forward width */
    int n_layers;
    int n_heads;
    int n_kv_heads;   /* divides n_heads (grouped-query attention) */
    int vocab_size;
    int seq_len;      /* maximum context */
    float rope_theta; /* 10000 unless the file says otherwise */
    float norm_eps;   /* RMSNorm epsilon, 1e-5 unless the file says otherwise */
    bool shared_classifier; /* output projection tied to the token embedding */
    int head_dim;     /* per-head width of q, k and v; 0: dim / n_heads (qwen3 sets its own) */
    engine_arch arch; /* llama unless the file or preset says otherwise */
} engine_config;

/* head_dim, or dim / n_heads where it is 0. */
int engine_config_head_dim(const engine_config *c);

typedef struct engine_layer {
    const float *rms_att, *rms_ffn;   /* [dim], always f32 */
    engine_tensor wq, wk, wv, wo;     /* dim x dim, kv_dim x dim, kv_dim x dim, dim x dim */
    engine_tensor w1, w2, w3;         /* hidden x dim, dim x hidden, hidden x dim */
    /* With q_dim = n_heads * head_dim and kv_dim = n_kv_heads * head_dim,
     * wq is q_dim x dim and wo dim x q_dim (q_dim == dim unless head_dim
     * says otherwise). Optional, f32, NULL when the family has none: */
    const float *bq, *bk, *bv;        /* [q_dim], [kv_dim], [kv_dim]: attention biases (qwen2) */
    const float *q_norm, *k_norm;     /* [head_dim]: per-head RMSNorm of q and k before RoPE (qwen3) */
} engine_layer;

typedef struct engine_tokenizer engine_tokenizer;

typedef struct engine_model {
    engine_config cfg;
    char format[16];        /* "llama2c-v0", "llama2c-v1", "gguf", "synthetic" */
    char source[512];       /* path or "preset:110M/q8_0/seed=1" */
    engine_tensor tok_embeddings;  /* vocab x dim */
    engine_layer *layers;          /* n_layers */
    const float *rms_final;        /* [dim] */
    engine_tensor classifier;      /* vocab x dim; same data as tok_embeddings when shared */
    const float *rope_freqs;       /* [head_dim / 2] divisors of the RoPE frequencies (Llama 3
                                      rope scaling, GGUF rope_freqs.weight) or NULL */
    engine_tokenizer *tokenizer;   /* embedded vocabulary (GGUF, synthetic) or NULL */
    uint64_t weight_bytes;         /* bytes of all matrices, embedding table included */
    uint64_t decode_bytes;         /* bytes of the matrices one decode step reads: every layer
                                      matrix and the classifier, not the embedding table */
    void *impl;                    /* loader-owned storage (mapping, buffers) */
} engine_model;

/* Loads a llama2.c checkpoint (v0 or v1) or a GGUF file, detected by content.
 * Files are memory-mapped where the layout allows. */
int engine_model_load(const char *path, engine_model **out, engine_error *err);

/* Seeded synthetic model. Presets: the llama2.c shapes tiny, 15M, 42M,
 * 110M, 1B, and real families' shapes qwen3-0.6B, llama3.2-1B,
 * qwen2.5-0.5B, smollm2-135M (see engine_preset_names), each in its own
 * architecture. `shared_classifier` < 0 keeps the preset's default. */
int engine_model_synth(const char *preset, engine_dtype dtype, uint64_t seed,
                       int shared_classifier, engine_model **out, engine_error *err);
/* The same with the architecture given ("llama", "qwen2", "qwen3"; NULL:
 * the preset's): the preset's shape with that family's extra tensors
 * (qwen2 biases, qwen3 q/k norms) and RoPE. */
int engine_model_synth_arch(const char *preset, const char *arch, engine_dtype dtype, uint64_t seed,
                            int shared_classifier, engine_model **out, engine_error *err);
const char *const *engine_preset_names(void);  /* NULL-terminated */

/* Writes a model (weights in their types, config, embedded vocabulary) as GGUF v3. */
int engine_gguf_write(const engine_model *m, const char *path, engine_error *err);
/* Writes a model as a llama2.c checkpoint (v0, the layout llama2.c's run.c
 * reads): f32 weights only, RoPE theta 10000 and norm epsilon 1e-5, no
 * vocabulary (llama2.c keeps it in tokenizer.bin). Anything else is an
 * input error naming what does not fit. */
int engine_llama2c_write(const engine_model *m, const char *path, engine_error *err);
/* Writes the model's embedded vocabulary as a llama2.c tokenizer.bin
 * (max_token_length, then per token: score, length, bytes). */
int engine_llama2c_tokenizer_write(const engine_model *m, const char *path, engine_error *err);
void engine_model_free(engine_model *m);

/* One row of `thermabench model info`'s tensor table, named as in GGUF
 * whatever the format. file_offset is -1 for data not in the file
 * (generated, or converted to f32 when loading). */
typedef struct engine_tensor_row {
    char name[64];
    engine_dtype type;
    int n_dims;
    int64_t ne0, ne1;      /* ne0: row length (cols), ne1: rows */
    uint64_t bytes;
    int64_t file_offset;
} engine_tensor_row;

/* Fills up to max rows (4 + 14 * n_layers cover every model); returns the count. */
int engine_model_tensors(const engine_model *m, engine_tensor_row *rows, int max);

/* ---- tokenizer -------------------------------------------------------- */

/* llama2.c tokenizer.bin, or the vocabulary of a GGUF file; vocab_size must
 * match the model's (0 takes a GGUF vocabulary of any size). */
int engine_tokenizer_load(const char *path, int vocab_size, engine_tokenizer **out, engine_error *err);
void engine_tokenizer_free(engine_tokenizer *t);
int engine_tokenizer_vocab_size(const engine_tokenizer *t);
int engine_tokenizer_bos(const engine_tokenizer *t);   /* -1: none */
int engine_tokenizer_eos(const engine_tokenizer *t);   /* -1: none */
/* Whether a prompt starts with BOS / ends with EOS, as the vocabulary's
 * metadata says (tokenizer.ggml.add_bos_token; defaults as llama.cpp's). */
bool engine_tokenizer_add_bos(const engine_tokenizer *t);
bool engine_tokenizer_add_eos(const engine_tokenizer *t);
/* Whether generating token `id` ends the text: for a SentencePiece
 * vocabulary BOS (llama2.c's rule: BOS delimits stories); for byte-level BPE
 * llama.cpp's end-of-generation set (EOS, end-of-turn tokens such as
 * <|eot_id|> and <|im_end|>, the ids the metadata names). */
bool engine_tokenizer_ends_generation(const engine_tokenizer *t, int id);
/* "sentencepiece", or the byte-level BPE pre-tokenizer ("llama-bpe", "qwen2", ...). */
const char *engine_tokenizer_kind(const engine_tokenizer *t);
/* SentencePiece-style BPE with dummy leading space and byte fallback, or
 * byte-level BPE as llama.cpp's (special tokens typed in the text are not
 * parsed, except user-defined ones). Writes at most `max` ids to `ids`,
 * sets *n. */
int engine_tokenizer_encode(const engine_tokenizer *t, const char *text, bool bos, bool eos,
                            int *ids, int max, int *n, engine_error *err);
/* The bytes to print for `token` following `prev` (README decoding rules):
 * SentencePiece: leading space dropped after BOS, <0xXX> becomes a raw byte;
 * byte-level BPE: the token's bytes, control tokens by name (the pieces of a
 * text's ids concatenate to the text). Sets *len. */
const char *engine_tokenizer_piece(const engine_tokenizer *t, int prev, int token, size_t *len);

/* ---- kernel registry -------------------------------------------------- */

typedef enum engine_op {
    ENGINE_OP_MATMUL = 0,   /* y = W x for n tokens (n == 1: matvec) */
    ENGINE_OP_ATTENTION,
    ENGINE_OP_RMSNORM,
    ENGINE_OP_ROPE,
    ENGINE_OP_SWIGLU,
    ENGINE_OP_COUNT
} engine_op;

const char *engine_op_name(engine_op op);

typedef struct engine_kernel_info {
    engine_op op;
    const char *name;        /* e.g. "scalar", "avx512", "q8_vnni", "cl_rowgroup" */
    const char *backend;     /* "cpu" or "opencl" */
    const char *requires;    /* human-readable needs: "", "avx2 fma", "avx512f avx512vnni" */
    const char *description;
    bool available;          /* this machine can run it */
} engine_kernel_info;

/* Every registered variant, in registry order. */
size_t engine_kernel_count(void);
const engine_kernel_info *engine_kernel_at(size_t i);
/* The variant picked by default for `op` on this machine and backend (for
 * OpenCL: on a GPU device). */
const char *engine_kernel_default(engine_op op, const char *backend);
/* The OpenCL variant picked by default for `op` on a device of this type
 * ("gpu", "cpu", "accel", "other", as engine_opencl_device.type): the
 * backend ranks some variants differently off GPUs. */
const char *engine_kernel_default_opencl(engine_op op, const char *device_type);

/* ---- sessions and the forward pass ----------------------------------- */

#define ENGINE_MAX_KERNEL_CHOICES 16

typedef struct engine_kernel_choice {
    char op[32];       /* engine_op_name */
    char variant[64];
} engine_kernel_choice;

typedef void (*engine_phase_fn)(void *ctx, const char *phase, bool begin);

typedef struct engine_options {
    int threads;             /* 0: all online CPUs */
    int max_batch;           /* sequences per session (KV caches), >= 1 */
    int max_seq_len;         /* 0: the model's seq_len */
    char backend[16];        /* "cpu" (default) or "opencl" */
    char opencl_device[128]; /* "", "P:D" indices, or a name substring */
    bool opencl_profile;     /* per-kernel profiling events */
    int n_kernel_choices;
    engine_kernel_choice kernel_choices[ENGINE_MAX_KERNEL_CHOICES];
} engine_options;

void engine_options_default(engine_options *o);
/* Parses "op=variant" into o->kernel_choices (error names the unknown op or variant). */
int engine_options_add_kernel(engine_options *o, const char *op_eq_variant, engine_error *err);

typedef struct engine_session engine_session;

int engine_session_create(const engine_model *m, const engine_options *o,
                          engine_session **out, engine_error *err);
void engine_session_free(engine_session *s);
/* The kernel variant in use for each op, as "matmul=avx512 attention=fused ...". */
const char *engine_session_kernels(const engine_session *s);
/* Clears the KV cache of one sequence (seq < 0: all). */
void engine_session_reset(engine_session *s, int seq);

/* One forward step over n tokens, each belonging to a sequence at a position
 * (as llama.cpp's llama_batch). Tokens of one sequence must be in increasing
 * position order; attention is causal within each sequence. Logits (vocab
 * floats each) are written for the tokens with want_logits set, in order. */
typedef struct engine_batch {
    int n;
    const int *token;
    const int *seq;
    const int *pos;
    const bool *want_logits; /* NULL: only the last token of each sequence */
} engine_batch;

int engine_forward(engine_session *s, const engine_batch *b, float *logits, engine_error *err);

/* ---- sampler ---------------------------------------------------------- */

typedef struct engine_sampler {
    float temperature;   /* 0: greedy (argmax) */
    float top_p;         /* 1: off */
    uint64_t rng_state;  /* explicit seed */
} engine_sampler;

/* Index of the largest logit; the first one wins ties (greedy decoding). */
int engine_argmax(const float *logits, int n);

void engine_sampler_init(engine_sampler *s, float temperature, float top_p, uint64_t seed);
int engine_sample(engine_sampler *s, const float *logits, int vocab_size);

/* ---- generation and the bench_one_batch measurement ------------------- */

/* Greedy or sampled generation by the README rules: `steps` counts positions,
 * prompt included; stops early on a token that ends generation
 * (engine_tokenizer_ends_generation) unless `flags` has
 * ENGINE_GENERATE_IGNORE_EOS. `emit` receives each piece to print. */
#define ENGINE_GENERATE_IGNORE_EOS 1u
typedef void (*engine_emit_fn)(void *ctx, const char *bytes, size_t len);
int engine_generate(engine_session *s, const engine_tokenizer *t, const char *prompt,
                    int steps, unsigned flags, engine_sampler *sampler, engine_emit_fn emit, void *emit_ctx,
                    int *tokens_out, int tokens_max, int *n_tokens_out, engine_error *err);

typedef struct engine_bench_params {
    int batch_size;      /* sequences decoded together */
    int input_len;       /* prompt tokens per sequence */
    int output_len;      /* decode steps (tokens generated per sequence) */
    int warmup;          /* warm-up passes before the measured one (bench_one_batch: 1) */
    uint64_t seed;       /* synthetic prompt tokens */
    engine_phase_fn on_phase;  /* "prefill" / "decode" begin and end; may be NULL */
    void *phase_ctx;
} engine_bench_params;

typedef struct engine_bench_result {
    double prefill_ms, prefill_tokens_per_s;
    double decode_ms, decode_tokens_per_s;       /* all decode steps */
    double decode_step_median_ms;
    double *decode_step_ms;                      /* output_len entries, owned by the result */
    double total_ms, total_tokens_per_s;
    double peak_rss_bytes;       /* of the process (getrusage), a whole number */
    double decode_gb_per_s;      /* weight bytes read per step / step time */
    double prefill_gflop_per_s;  /* 2 * params * tokens / prefill time */
    int *output_tokens;          /* batch_size x output_len greedy ids (for output agreement) */
    int n_output_tokens;
    uint64_t output_tokens_hash; /* fnv1a64 of output_tokens as little-endian int32 */
} engine_bench_result;

int engine_bench(engine_session *s, const engine_bench_params *p,
                 engine_bench_result *r, engine_error *err);
void engine_bench_result_free(engine_bench_result *r);

/* The bench's figures, one row each: what every results file, `bench
 * --json` and config validation call them. A row binds the name to the
 * field it reads, so the order of rows cannot mislabel a value; adding a
 * metric is adding a row (and its field). */
typedef struct engine_metric {
    const char *name;          /* "decode_tokens_per_s": the key in results files */
    const char *unit;          /* "tokens/s", "ms", "GB/s", "GFLOP/s", "bytes" */
    bool higher_is_better;
    const char *source;        /* where the value comes from, in words */
    size_t offset;             /* of its double in engine_bench_result */
} engine_metric;

size_t engine_metric_count(void);
const engine_metric *engine_metric_at(size_t i);
/* The row named `name`, or NULL. */
const engine_metric *engine_metric_find(const char *name);
double engine_metric_value(const engine_metric *m, const engine_bench_result *r);

/* ---- OpenCL devices --------------------------------------------------- */

typedef struct engine_opencl_device {
    int platform, device;          /* indices, as in --opencl-device P:D */
    char platform_name[128];
    char device_name[128];
    char device_version[128];      /* "OpenCL 3.0 CUDA" */
    char driver_version[64];
    char type[8];                  /* "gpu", "cpu", "accel", "other" */
    uint64_t global_mem_bytes;
    int compute_units;
    int max_clock_mhz;
} engine_opencl_device;

/* Lists every OpenCL device of every platform (at most `max` into `out`);
 * returns how many there are, or -1 with err set: ENGINE_ERR_UNSUPPORTED
 * when the build has no OpenCL or the ICD loader finds no platform. */
int engine_opencl_devices(engine_opencl_device *out, int max, engine_error *err);

/* Device time per OpenCL kernel, summed over a session's forward passes
 * when it was created with opencl_profile (profiling events); with
 * THERMABENCH_OPENCL_HOST_TIMES set, two entries named "host: ..." follow:
 * the host's time enqueueing single-token passes and waiting for their
 * logits (no profiling events needed). */
typedef struct engine_kernel_time {
    const char *name;   /* "matvec_rowgroup", "attention", ... (static strings) */
    long calls;
    double total_ms;
} engine_kernel_time;

/* Copies at most max entries; returns how many entries there are (0 for a
 * CPU session, or without opencl_profile and host times). */
int engine_session_kernel_times(const engine_session *s, engine_kernel_time *out, int max);

/* ---- roofline ---------------------------------------------------------- */

/* This machine's limits for `threads` threads: streaming read bandwidth
 * (a buffer well past the last-level cache, read with the widest vectors
 * the CPU has) and the f32 FMA peak (independent FMA chains in registers).
 * Best of `repeats` passes each; takes about a second. */
typedef struct engine_roofline {
    int threads;
    double read_gb_per_s;
    double fma_gflop_per_s;
    uint64_t buffer_bytes;
    const char *isa;           /* "avx512", "avx2" or "scalar" */
} engine_roofline;

int engine_roofline_measure(int threads, int repeats, engine_roofline *out, engine_error *err);

#endif
