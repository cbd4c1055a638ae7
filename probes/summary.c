/* Per-phase summaries and the CSV timeline. A phase is the interval between
 * two marks; its points for a channel are the begin mark's snapshot, every
 * sample strictly inside, and the end mark's snapshot. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "probes_internal.h"

/* First sample with t_ns > t (samples are in time order). */
static size_t first_after(const probe_sampler *s, int64_t t)
{
    size_t lo = 0, hi = probe_sampler_sample_count(s);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (probe_sampler_sample(s, mid)->t_ns <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

typedef struct acc {
    double first, last, min, max, integral;
    int64_t t_first, t_last, t_prev;
    double prev;
    size_t n;
} acc;

static void acc_add(acc *a, int64_t t, double v)
{
    if (isnan(v))
        return;
    if (a->n == 0) {
        a->first = a->min = a->max = v;
        a->t_first = t;
    } else {
        a->integral += 0.5 * (a->prev + v) * (double)(t - a->t_prev);  /* trapezoid */
        if (v < a->min) a->min = v;
        if (v > a->max) a->max = v;
    }
    a->prev = a->last = v;
    a->t_prev = a->t_last = t;
    a->n++;
}

static void summarize_channel(const probe_sampler *s, const probe_mark *mb, const probe_mark *me,
                              size_t i0, size_t i1, int c, probe_channel_summary *out)
{
    const probe_channel *ch = probe_set_channel(probe_sampler_set(s), c);
    acc a;
    memset(&a, 0, sizeof a);
    acc_add(&a, mb->t_ns, mb->snapshot[c]);
    for (size_t i = i0; i < i1; i++) {
        const probe_sample *p = probe_sampler_sample(s, i);
        acc_add(&a, p->t_ns, p->values[c]);
    }
    acc_add(&a, me->t_ns, me->snapshot[c]);
    out->channel = c;
    out->n_samples = a.n;
    out->start = out->end = out->min = out->mean = out->max = NAN;
    out->delta = out->rate_per_s = out->bits_or = NAN;
    if (a.n == 0)
        return;
    out->start = a.first;
    out->end = a.last;
    double span_s = (double)(a.t_last - a.t_first) / 1e9;
    if (ch->kind == PROBE_COUNTER) {
        if (a.n >= 2) {
            out->delta = a.last - a.first;
            out->rate_per_s = span_s > 0 ? out->delta / span_s : NAN;
        }
        return;
    }
    out->min = a.min;
    out->max = a.max;
    out->mean = span_s > 0 ? a.integral / (double)(a.t_last - a.t_first) : a.first;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

static void add_cause(probe_phase_summary *p, const char *fmt, const char *a, const char *b)
{
    size_t len = strlen(p->throttle_cause);
    snprintf(p->throttle_cause + len, sizeof p->throttle_cause - len, fmt, len ? "; " : "", a, b);
}

/* Yes when any source saw throttling, no when at least one source could
 * tell and none did, unknown otherwise: never "no" by default. */
static void throttle_verdict(const probe_sampler *s, const probe_mark *mb, const probe_mark *me,
                             size_t i0, size_t i1, probe_phase_summary *p)
{
    const probe_set *ps = probe_sampler_set(s);
    bool can_tell = false, yes = false;
    p->throttle_cause[0] = 0;
    for (size_t k = 0; k < p->n_channels; k++) {
        const probe_channel *ch = probe_set_channel(ps, k);
        probe_channel_summary *cs = &p->channels[k];
        char dev[32];
        snprintf(dev, sizeof dev, "%.*s", (int)strcspn(ch->name, "."), ch->name);
        if (ends_with(ch->name, ".throttle_reasons")) {
            unsigned long long bits = 0;
            bool seen = false;
            double v[2] = {mb->snapshot[k], me->snapshot[k]};
            for (int j = 0; j < 2; j++)
                if (!isnan(v[j])) { bits |= (unsigned long long)v[j]; seen = true; }
            for (size_t i = i0; i < i1; i++) {
                double x = probe_sampler_sample(s, i)->values[k];
                if (!isnan(x)) { bits |= (unsigned long long)x; seen = true; }
            }
            if (!seen)
                continue;
            cs->bits_or = (double)bits;
            can_tell = true;
            char causes[96] = "";
            if (probe_gpu_throttle_cause(bits, causes, sizeof causes)) {
                yes = true;
                add_cause(p, "%s%s: %s", dev, causes);
            }
        } else if (ends_with(ch->name, "_cap_time_ms") || ends_with(ch->name, "_throttle_count")) {
            if (isnan(cs->delta))
                continue;
            can_tell = true;
            if (cs->delta > 0) {
                yes = true;
                add_cause(p, "%s%s: %s", dev, ch->name + strlen(dev) + 1);
            }
        }
    }
    p->throttle = yes ? PROBE_THROTTLE_YES : can_tell ? PROBE_THROTTLE_NO : PROBE_THROTTLE_UNKNOWN;
}

int probe_summarize(const probe_sampler *s, int mark_begin, int mark_end,
                    probe_phase_summary *out, probe_error *err)
{
    memset(out, 0, sizeof *out);
    size_t n_marks = probe_sampler_mark_count(s);
    if (mark_begin < 0 || mark_end < 0 || (size_t)mark_begin >= n_marks || (size_t)mark_end >= n_marks) {
        snprintf(err->msg, sizeof err->msg, "marks %d..%d: out of range (%zu marks)",
                 mark_begin, mark_end, n_marks);
        return -1;
    }
    const probe_mark *mb = probe_sampler_mark_at(s, mark_begin), *me = probe_sampler_mark_at(s, mark_end);
    if (me->t_ns < mb->t_ns) {
        snprintf(err->msg, sizeof err->msg, "mark %d (%s) is before mark %d (%s)",
                 mark_end, me->phase, mark_begin, mb->phase);
        return -1;
    }
    const probe_set *ps = probe_sampler_set(s);
    out->n_channels = probe_set_channel_count(ps);
    out->channels = calloc(out->n_channels ? out->n_channels : 1, sizeof *out->channels);
    if (!out->channels) {
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return -1;
    }
    out->t_begin_ns = mb->t_ns;
    out->t_end_ns = me->t_ns;
    size_t i0 = first_after(s, mb->t_ns), i1 = first_after(s, me->t_ns - 1);
    if (i1 < i0)
        i1 = i0;
    for (size_t c = 0; c < out->n_channels; c++)
        summarize_channel(s, mb, me, i0, i1, (int)c, &out->channels[c]);
    throttle_verdict(s, mb, me, i0, i1, out);
    return 0;
}

void probe_phase_summary_free(probe_phase_summary *p)
{
    if (!p)
        return;
    free(p->channels);
    p->channels = NULL;
    p->n_channels = 0;
}

/* ---- CSV timeline ------------------------------------------------------ */

static void put_row(FILE *f, const probe_sampler *s, int64_t t, const char *tier, int64_t lat,
                    const char *mark, const double *v, size_t n)
{
    fprintf(f, "%.6f,%s,%.3f,%s", (double)(t - probe_sampler_t0_ns(s)) / 1e9, tier, lat / 1e6, mark);
    for (size_t c = 0; c < n; c++) {
        if (isnan(v[c]))
            fputs(",", f);
        else
            fprintf(f, ",%.17g", v[c]);
    }
    fputc('\n', f);
}

/* Written to <path>.tmp, flushed to disk, then renamed: a crash never
 * leaves a half-written timeline in place of a good one. */
int probe_timeline_write_csv(const probe_sampler *s, const char *path, probe_error *err)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        snprintf(err->msg, sizeof err->msg, "%.200s: path too long", path);
        return -1;
    }
    FILE *f = fopen(tmp, "w");
    if (!f) {
        snprintf(err->msg, sizeof err->msg, "%.400s: %s", tmp, strerror(errno));
        return -1;
    }
    const probe_set *ps = probe_sampler_set(s);
    size_t n = probe_set_channel_count(ps);
    fputs("t_s,tier,latency_ms,mark", f);
    for (size_t c = 0; c < n; c++)
        fprintf(f, ",%s", probe_set_channel(ps, c)->name);
    fputc('\n', f);
    size_t ns = probe_sampler_sample_count(s), nm = probe_sampler_mark_count(s), i = 0, j = 0;
    while (i < ns || j < nm) {  /* merge samples and marks by time */
        const probe_sample *p = i < ns ? probe_sampler_sample(s, i) : NULL;
        const probe_mark *m = j < nm ? probe_sampler_mark_at(s, j) : NULL;
        if (m && (!p || m->t_ns <= p->t_ns)) {
            char mark[64];
            snprintf(mark, sizeof mark, "%s:%s:%d", m->phase, m->begin ? "begin" : "end", m->run_index);
            put_row(f, s, m->t_ns, "mark", m->read_latency_ns, mark, m->snapshot, n);
            j++;
        } else {
            put_row(f, s, p->t_ns, p->tier == PROBE_TIER_SLOW ? "slow" : "fast", p->read_latency_ns, "", p->values, n);
            i++;
        }
    }
    int bad = ferror(f);
    bad |= fflush(f) != 0;
    bad |= fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        snprintf(err->msg, sizeof err->msg, "%.400s: %s", bad ? tmp : path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}
