/* Sampling as llama2.c: greedy argmax (first maximum wins), or softmax at a
 * temperature with optional top-p (nucleus), drawing from an explicitly
 * seeded xorshift generator. */
#include <math.h>
#include <stdlib.h>

#include "engine.h"

void engine_sampler_init(engine_sampler *s, float temperature, float top_p, uint64_t seed)
{
    s->temperature = temperature;
    s->top_p = top_p;
    /* xorshift never leaves 0: map that seed to a fixed non-zero state */
    s->rng_state = seed ? seed : 0x9e3779b97f4a7c15ull;
}

static uint32_t random_u32(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return (uint32_t)((*state * 0x2545F4914F6CDD1Dull) >> 32);
}

static float random_f32(uint64_t *state) { return (random_u32(state) >> 8) / 16777216.0f; }

int engine_argmax(const float *x, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

typedef struct prob_index {
    float prob;
    int index;
} prob_index;

static int compare_desc(const void *a, const void *b)
{
    const prob_index *x = a, *y = b;
    if (x->prob > y->prob)
        return -1;
    if (x->prob < y->prob)
        return 1;
    return x->index - y->index;  /* ties in a fixed order, whatever qsort does */
}

/* llama2.c sample_topp: keep the smallest set of most likely tokens whose
 * cumulative probability exceeds top_p, then sample within it. */
static int sample_topp(const float *probs, int n, float top_p, float coin, prob_index *pi)
{
    const float cutoff = (1.0f - top_p) / (n - 1);
    int n0 = 0;
    for (int i = 0; i < n; i++)
        if (probs[i] >= cutoff)
            pi[n0++] = (prob_index){probs[i], i};
    qsort(pi, n0, sizeof *pi, compare_desc);
    float cumulative = 0.0f;
    int last = n0 - 1;
    for (int i = 0; i < n0; i++) {
        cumulative += pi[i].prob;
        if (cumulative > top_p) {
            last = i;
            break;
        }
    }
    float r = coin * cumulative, cdf = 0.0f;
    for (int i = 0; i <= last; i++) {
        cdf += pi[i].prob;
        if (r < cdf)
            return pi[i].index;
    }
    return pi[last].index;
}

static int sample_mult(const float *probs, int n, float coin)
{
    float cdf = 0.0f;
    for (int i = 0; i < n; i++) {
        cdf += probs[i];
        if (coin < cdf)
            return i;
    }
    return n - 1;
}

/* Returns the sampled id, or -1 when memory for the probabilities runs out. */
int engine_sample(engine_sampler *s, const float *logits, int vocab_size)
{
    if (s->temperature <= 0.0f || vocab_size < 2)
        return engine_argmax(logits, vocab_size);
    float *probs = malloc(vocab_size * sizeof *probs);
    prob_index *pi = s->top_p > 0.0f && s->top_p < 1.0f ? malloc(vocab_size * sizeof *pi) : NULL;
    if (!probs || (s->top_p > 0.0f && s->top_p < 1.0f && !pi)) {
        free(probs);
        free(pi);
        return -1;
    }
    float max_val = -INFINITY;
    for (int i = 0; i < vocab_size; i++) {
        probs[i] = logits[i] / s->temperature;
        if (probs[i] > max_val)
            max_val = probs[i];
    }
    float sum = 0.0f;
    for (int i = 0; i < vocab_size; i++) {
        probs[i] = expf(probs[i] - max_val);
        sum += probs[i];
    }
    for (int i = 0; i < vocab_size; i++)
        probs[i] /= sum;
    float coin = random_f32(&s->rng_state);
    int next = pi ? sample_topp(probs, vocab_size, s->top_p, coin, pi) : sample_mult(probs, vocab_size, coin);
    free(probs);
    free(pi);
    return next;
}
