/* The idle temperature a cooldown returns to, and what a preflight compares
 * a device against. The temperature at the start of an experiment is only
 * idle when the device is idle and not still cooling from the last one, so
 * a cold reading is kept per host, channel and device (a small JSON file
 * in the state directory) and used when the start is not cold. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness_internal.h"

/* Messages and paths are bounded buffers; cutting one short is intended. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

int harness_state_path(char *out, size_t n, const char *file)
{
    const char *dir = getenv("THERMABENCH_STATE_DIR"), *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    if (dir && *dir) snprintf(out, n, "%s/%s", dir, file);
    else if (xdg && *xdg) snprintf(out, n, "%s/thermabench/%s", xdg, file);
    else if (home && *home) snprintf(out, n, "%s/.local/state/thermabench/%s", home, file);
    else return -1;
    return 0;
}

/* "host|channel|label": a stored idle temperature belongs to one device. */
static void idle_key(const probe_set *ps, int channel, char *key, size_t n)
{
    char host[256] = "";
    if (gethostname(host, sizeof host)) snprintf(host, sizeof host, "unknown");
    host[sizeof host - 1] = 0;
    const probe_channel *ch = probe_set_channel(ps, (size_t)channel);
    snprintf(key, n, "%s|%s|%s", host, ch->name, ch->label);
}

static cJSON *load_store(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char buf[1 << 16];
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = 0;
    cJSON *o = cJSON_Parse(buf);
    if (o && !cJSON_IsObject(o)) { cJSON_Delete(o); o = NULL; }
    return o;
}

int harness_idle_lookup(const probe_set *ps, int channel, double *idle_c, char *when, size_t n)
{
    char path[1024], key[512];
    if (!ps || channel < 0 || harness_state_path(path, sizeof path, "idle-temperatures.json")) return -1;
    idle_key(ps, channel, key, sizeof key);
    cJSON *o = load_store(path);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, key);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(e, "idle_c"), *u = cJSON_GetObjectItemCaseSensitive(e, "utc");
    int rc = -1;
    if (cJSON_IsNumber(t) && isfinite(t->valuedouble)) {
        *idle_c = t->valuedouble;
        if (when) snprintf(when, n, "%s", cJSON_IsString(u) ? u->valuestring : "unknown date");
        rc = 0;
    }
    cJSON_Delete(o);
    return rc;
}

static int mkdirs(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        int rc = mkdir(path, 0755);
        *p = '/';
        if (rc && errno != EEXIST) return -1;
    }
    return 0;
}

int harness_idle_store(const probe_set *ps, int channel, double idle_c)
{
    char path[1024], tmp[1100], key[512], now[32];
    if (!ps || channel < 0 || !isfinite(idle_c) || harness_state_path(path, sizeof path, "idle-temperatures.json"))
        return -1;
    idle_key(ps, channel, key, sizeof key);
    cJSON *o = load_store(path);
    if (!o) o = cJSON_CreateObject();
    cJSON *e = cJSON_CreateObject();
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
    cJSON_AddNumberToObject(e, "idle_c", idle_c);
    cJSON_AddStringToObject(e, "utc", now);
    if (cJSON_GetObjectItemCaseSensitive(o, key)) cJSON_ReplaceItemInObjectCaseSensitive(o, key, e);
    else cJSON_AddItemToObject(o, key, e);
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    int rc = -1;
    FILE *f = text && !mkdirs(path) ? fopen(tmp, "w") : NULL;
    if (f) {
        bool ok = fputs(text, f) >= 0;
        ok = !fclose(f) && ok;
        rc = ok && !rename(tmp, path) ? 0 : -1;
        if (rc) unlink(tmp);
    }
    free(text);
    return rc;
}

/* "gpu3.temp_c" -> "gpu3." (the device's channel prefix); "" for others. */
static void device_prefix(const char *name, char *out, size_t n)
{
    const char *dot = strchr(name, '.');
    out[0] = 0;
    if (!strncmp(name, "gpu", 3) && dot) snprintf(out, n, "%.*s", (int)(dot - name + 1), name);
}

double harness_device_reading(const probe_set *ps, const double *values, const char *prefix, const char *suffix)
{
    char name[128];
    snprintf(name, sizeof name, "%s%s", prefix, suffix);
    int i = probe_set_find(ps, name);
    return i >= 0 && values ? values[i] : NAN;
}

void harness_idle_baseline(const harness_config *c, probe_set *ps, probe_sampler *s, int channel,
                           harness_idle *out)
{
    memset(out, 0, sizeof *out);
    out->baseline_c = out->start_c = out->stored_c = NAN;
    snprintf(out->source, sizeof out->source, "none");
    if (!isnan(c->cooldown.idle_c)) {
        out->baseline_c = c->cooldown.idle_c;
        snprintf(out->source, sizeof out->source, "config");
        snprintf(out->detail, sizeof out->detail, "cooldown.idle_c = %g C", c->cooldown.idle_c);
        return;
    }
    if (!s || channel < 0) return;
    char prefix[32], when[64] = "";
    device_prefix(probe_set_channel(ps, (size_t)channel)->name, prefix, sizeof prefix);
    bool stored = !harness_idle_lookup(ps, channel, &out->stored_c, when, sizeof when);
    /* The start reading: mean, first and last over baseline_s, and whether the
     * device was busy meanwhile (a GPU's utilisation or compute processes). */
    double sum = 0, first = NAN, last = NAN, end = harness_now_s() + c->cooldown.baseline_s;
    int n = 0;
    bool busy = false;
    int util = -1, procs = -1;
    if (prefix[0]) {
        char name[128];
        snprintf(name, sizeof name, "%sutil_pct", prefix);
        util = probe_set_find(ps, name);
        snprintf(name, sizeof name, "%scompute_processes", prefix);
        procs = probe_set_find(ps, name);
    }
    do {
        double v = probe_sampler_latest(s, channel);
        if (isnan(v) && n == 0) {   /* the sampler's first reading may not be there yet */
            harness_sleep_s(0.05);
            v = probe_sampler_latest(s, channel);
        }
        if (!isnan(v)) {
            sum += v, n++;
            if (isnan(first)) first = v;
            last = v;
        }
        double u = util >= 0 ? probe_sampler_latest(s, util) : NAN, p = procs >= 0 ? probe_sampler_latest(s, procs) : NAN;
        if ((!isnan(u) && u > 10) || (!isnan(p) && p > 0)) busy = true;
        if (harness_now_s() >= end) break;
        harness_sleep_s(c->cooldown.poll_ms / 1e3);
    } while (harness_now_s() < end && !harness_interrupted());
    if (!n) {
        if (stored) {
            out->baseline_c = out->stored_c;
            snprintf(out->source, sizeof out->source, "stored");
            snprintf(out->detail, sizeof out->detail, "no reading now; stored idle %.1f C (%s)", out->stored_c, when);
        }
        return;
    }
    out->start_c = sum / n;
    out->cooling = last <= first - 1.0;
    out->busy = busy;
    out->cold = !busy && !out->cooling && !(stored && out->start_c > out->stored_c + c->cooldown.within_c &&
                                            out->start_c > out->stored_c + 5);
    if (out->cold) {
        out->baseline_c = out->start_c;
        snprintf(out->source, sizeof out->source, "cold reading");
        snprintf(out->detail, sizeof out->detail, "%.1f C over %g s, device idle%s", out->start_c,
                 c->cooldown.baseline_s, stored ? "" : " (stored for later experiments)");
        harness_idle_store(ps, channel, out->start_c);
        return;
    }
    const char *why = busy ? "device busy" : out->cooling ? "still cooling" : "warmer than its stored idle";
    if (stored) {
        out->baseline_c = out->stored_c;
        snprintf(out->source, sizeof out->source, "stored");
        snprintf(out->detail, sizeof out->detail, "%.1f C now (%s); stored idle %.1f C (%s)", out->start_c, why,
                 out->stored_c, when);
    } else {
        out->baseline_c = out->start_c;
        snprintf(out->source, sizeof out->source, "start reading");
        snprintf(out->detail, sizeof out->detail, "%.1f C now (%s) and no stored idle temperature: the cooldown "
                 "returns to a level that may be above idle (set cooldown.idle_c)", out->start_c, why);
    }
}
