/* The probe set: opens every source, owns the channel table, reads a tier. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "probes_internal.h"

static const probe_source_ops *const all_sources[] = {
    &probe_hwmon_ops, &probe_thermal_ops, &probe_rapl_ops, &probe_cpufreq_ops,
    &probe_throttle_ops, &probe_memory_ops, &probe_perf_ops, &probe_nvml_ops,
};

void probe_options_default(probe_options *o)
{
    memset(o, 0, sizeof *o);
    o->root = "/";
    o->perf_hardware = true;
}

int64_t probe_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int probe_path(const probe_set *ps, char *buf, size_t n, const char *fmt, ...)
{
    size_t len = strlen(ps->root);
    if (len >= n)
        return -1;
    memcpy(buf, ps->root, len);
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + len, n - len, fmt, ap);
    va_end(ap);
    return (w < 0 || (size_t)w >= n - len) ? -1 : 0;
}

long probe_read_file(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t got = fread(buf, 1, n - 1, f);
    int failed = ferror(f);
    int saved = errno;
    fclose(f);
    if (failed) {
        errno = saved ? saved : EIO;
        return -1;
    }
    buf[got] = 0;
    return (long)got;
}

int probe_read_i64(const char *path, long long *out)
{
    char buf[64], *end;
    if (probe_read_file(path, buf, sizeof buf) < 0)
        return -1;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    while (*end == ' ' || *end == '\n' || *end == '\t')
        end++;
    if (errno || end == buf || *end) {
        errno = EINVAL;
        return -1;
    }
    *out = v;
    return 0;
}

int probe_read_str(const char *path, char *buf, size_t n)
{
    if (probe_read_file(path, buf, n) < 0)
        return -1;
    buf[strcspn(buf, "\n")] = 0;
    return 0;
}

int probe_find_key(const char *text, const char *key, long long *out)
{
    size_t k = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, key, k) || (p[k] != ' ' && p[k] != ':' && p[k] != '\t' && p[k] != '='))
            continue;
        const char *v = p + k + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        char *end;
        errno = 0;
        long long x = strtoll(v, &end, 10);
        if (errno || end == v || (*end && *end != ' ' && *end != '\n'))
            return -1;
        *out = x;
        return 0;
    }
    return -1;
}

void probe_reason(probe_source *src, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(src->status.reason, sizeof src->status.reason, fmt, ap);
    va_end(ap);
}

int probe_add_channel(probe_set *ps, probe_source *src, const char *name,
                      const char *unit, const char *label,
                      probe_channel_kind kind, probe_tier tier)
{
    if (ps->n_channels == ps->cap_channels) {
        size_t cap = ps->cap_channels ? ps->cap_channels * 2 : 64;
        probe_channel *c = realloc(ps->channels, cap * sizeof *c);
        if (!c)
            return -1;
        ps->channels = c;
        unsigned char *f = realloc(ps->failing, cap);
        if (!f)
            return -1;
        ps->failing = f;
        ps->cap_channels = cap;
    }
    probe_channel *c = &ps->channels[ps->n_channels];
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    snprintf(c->unit, sizeof c->unit, "%s", unit);
    snprintf(c->label, sizeof c->label, "%s", label ? label : "");
    c->kind = kind;
    c->tier = tier;
    c->source = src->index;
    ps->failing[ps->n_channels] = 0;
    src->status.n_channels++;
    return (int)ps->n_channels++;
}

void probe_add_note(probe_set *ps, int channel, const char *fmt, ...)
{
    size_t i = atomic_load_explicit(&ps->n_notes, memory_order_relaxed);
    if (i >= PROBE_MAX_NOTES) {
        atomic_fetch_add(&ps->n_notes_dropped, 1);
        return;
    }
    probe_note *n = &ps->notes[i];
    n->t_ns = probe_now_ns();
    n->channel = channel;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(n->text, sizeof n->text, fmt, ap);
    va_end(ap);
    atomic_store_explicit(&ps->n_notes, i + 1, memory_order_release);
}

/* A note on each transition only, so a sensor that stays gone is reported
 * once, not every 100 ms. */
void probe_put(probe_set *ps, int c, double v, const char *why)
{
    if (c < 0)
        return;
    if (isnan(v) && !ps->failing[c]) {
        ps->failing[c] = 1;
        probe_add_note(ps, c, "%s: %s", ps->channels[c].name, why ? why : "unreadable");
    } else if (!isnan(v) && ps->failing[c]) {
        ps->failing[c] = 0;
        probe_add_note(ps, c, "%s: readable again", ps->channels[c].name);
    }
}

static bool wanted(const char *only, const char *name)
{
    if (!only || !*only)
        return true;
    size_t n = strlen(name);
    for (const char *p = only; *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && !strncmp(p, name, n))
            return true;
        p += len;
        if (*p == ',')
            p++;
    }
    return false;
}

int probe_set_open(const probe_options *o, probe_set **out, probe_error *err)
{
    probe_options def;
    if (!o) {
        probe_options_default(&def);
        o = &def;
    }
    const char *root = o->root && *o->root ? o->root : "/";
    if (strlen(root) >= sizeof ((probe_set *)0)->root) {
        snprintf(err->msg, sizeof err->msg, "probe root too long: %.64s...", root);
        return -1;
    }
    if (o->only) {  /* every name in --only must be a source */
        for (const char *p = o->only; *p;) {
            size_t len = strcspn(p, ","), k;
            for (k = 0; k < PROBE_MAX_SOURCES; k++)
                if (strlen(all_sources[k]->name) == len && !strncmp(p, all_sources[k]->name, len))
                    break;
            if (k == PROBE_MAX_SOURCES) {
                snprintf(err->msg, sizeof err->msg, "unknown probe source '%.*s' (expected "
                         "hwmon, thermal, rapl, cpufreq, throttle, memory, perf, nvml)", (int)len, p);
                return -1;
            }
            p += len + (p[len] == ',');
        }
    }
    probe_set *ps = calloc(1, sizeof *ps);
    if (!ps) {
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return -1;
    }
    ps->opt = *o;
    ps->opt.root = NULL;
    ps->opt.only = NULL;
    ps->opt.nvml_library = NULL;
    snprintf(ps->root, sizeof ps->root, "%s", root);
    size_t rl = strlen(ps->root);
    while (rl > 0 && ps->root[rl - 1] == '/')
        ps->root[--rl] = 0;
    /* nvml_library is kept by pointer for the open call only */
    for (size_t k = 0; k < PROBE_MAX_SOURCES; k++) {
        if (!wanted(o->only, all_sources[k]->name))
            continue;
        probe_source *src = &ps->sources[ps->n_sources];
        src->ops = all_sources[k];
        src->index = (int)ps->n_sources++;
        snprintf(src->status.name, sizeof src->status.name, "%s", src->ops->name);
        ps->opt.nvml_library = o->nvml_library;
        src->status.available = src->ops->open(ps, src) == 0;
        ps->opt.nvml_library = NULL;
    }
    *out = ps;
    return 0;
}

void probe_set_close(probe_set *ps)
{
    if (!ps)
        return;
    for (size_t i = 0; i < ps->n_sources; i++)
        if (ps->sources[i].ops->close)
            ps->sources[i].ops->close(&ps->sources[i]);
    free(ps->channels);
    free(ps->failing);
    free(ps);
}

size_t probe_set_source_count(const probe_set *ps) { return ps->n_sources; }

const probe_source_status *probe_set_source(const probe_set *ps, size_t i)
{
    return i < ps->n_sources ? &ps->sources[i].status : NULL;
}

size_t probe_set_channel_count(const probe_set *ps) { return ps->n_channels; }

const probe_channel *probe_set_channel(const probe_set *ps, size_t i)
{
    return i < ps->n_channels ? &ps->channels[i] : NULL;
}

int probe_set_find(const probe_set *ps, const char *name)
{
    for (size_t i = 0; i < ps->n_channels; i++)
        if (!strcmp(ps->channels[i].name, name))
            return (int)i;
    return -1;
}

void probe_set_read(probe_set *ps, probe_tier tier, double *values)
{
    for (size_t i = 0; i < ps->n_sources; i++) {
        probe_source *src = &ps->sources[i];
        if (src->status.available && src->ops->read)
            src->ops->read(ps, src, tier, values);
    }
}

double *probe_set_read_all(probe_set *ps)
{
    double *v = malloc((ps->n_channels ? ps->n_channels : 1) * sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < ps->n_channels; i++)
        v[i] = NAN;
    probe_set_read(ps, PROBE_TIER_FAST, v);
    probe_set_read(ps, PROBE_TIER_SLOW, v);
    return v;
}

size_t probe_set_note_count(const probe_set *ps)
{
    return atomic_load_explicit(&((probe_set *)ps)->n_notes, memory_order_acquire);
}

const probe_note *probe_set_note(const probe_set *ps, size_t i)
{
    return i < probe_set_note_count(ps) ? &ps->notes[i] : NULL;
}
