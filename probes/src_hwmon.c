/* hwmon through libsensors: temperatures, fans, power and energy, with the
 * chip's own labels. libsensors keeps global state and is not thread-safe,
 * so every call happens on the thread that reads the probe set (the sampler
 * thread while it runs; marks ask that thread for their snapshot), and only
 * one probe set at a time may use it. libsensors cannot be pointed at a fake
 * root: with a root other than "/" this source reports itself unavailable
 * (tests mount a fake /sys/class in a private namespace instead). */
#include <errno.h>
#include <math.h>
#include <sensors/error.h>
#include <sensors/sensors.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probes_internal.h"

typedef struct hwmon_chan {
    const sensors_chip_name *chip;
    int subfeature;
    double scale;
    int channel;
} hwmon_chan;

typedef struct hwmon_state {
    hwmon_chan *v;
    size_t n, cap;
} hwmon_state;

static int sensors_users;  /* sensors_init is global: one probe set at a time */

/* CPU package temperatures get the documented name cpu.pkg.temp_c (and
 * cpu.pkgN.temp_c for further packages); everything else keeps
 * hwmon.<chip>.<feature>_<unit>. */
static void channel_name(const char *chip, const char *feature, const char *label,
                         const char *unit, int *pkgs, char *out, size_t n)
{
    int pkg = -1;
    if ((!strncmp(chip, "k10temp", 7) || !strncmp(chip, "zenpower", 8)) && !strcmp(label, "Tctl"))
        pkg = (*pkgs)++;
    else if (!strncmp(chip, "coretemp", 8) && sscanf(label, "Package id %d", &pkg) == 1)
        (*pkgs)++;
    if (pkg == 0)
        snprintf(out, n, "cpu.pkg.temp_c");
    else if (pkg > 0)
        snprintf(out, n, "cpu.pkg%d.temp_c", pkg);
    else
        snprintf(out, n, "hwmon.%s.%s_%s", chip, feature, unit);
}

static hwmon_chan *add(hwmon_state *st)
{
    if (st->n == st->cap) {
        size_t cap = st->cap ? 2 * st->cap : 16;
        hwmon_chan *v = realloc(st->v, cap * sizeof *v);
        if (!v)
            return NULL;
        st->v = v;
        st->cap = cap;
    }
    return &st->v[st->n++];
}

static void add_feature(probe_set *ps, probe_source *src, hwmon_state *st,
                        const sensors_chip_name *chip, const sensors_feature *feat,
                        const char *chip_text, int *pkgs)
{
    const sensors_subfeature *sf = NULL;
    const char *unit = NULL;
    probe_channel_kind kind = PROBE_GAUGE;
    switch (feat->type) {
    case SENSORS_FEATURE_TEMP:
        sf = sensors_get_subfeature(chip, feat, SENSORS_SUBFEATURE_TEMP_INPUT);
        unit = "c";
        break;
    case SENSORS_FEATURE_FAN:
        sf = sensors_get_subfeature(chip, feat, SENSORS_SUBFEATURE_FAN_INPUT);
        unit = "rpm";
        break;
    case SENSORS_FEATURE_POWER:
        sf = sensors_get_subfeature(chip, feat, SENSORS_SUBFEATURE_POWER_INPUT);
        if (!sf)
            sf = sensors_get_subfeature(chip, feat, SENSORS_SUBFEATURE_POWER_AVERAGE);
        unit = "w";
        break;
    case SENSORS_FEATURE_ENERGY:
        sf = sensors_get_subfeature(chip, feat, SENSORS_SUBFEATURE_ENERGY_INPUT);
        unit = "j";
        kind = PROBE_COUNTER;
        break;
    default:
        return;
    }
    if (!sf || !(sf->flags & SENSORS_MODE_R))
        return;
    char *label = sensors_get_label(chip, feat);
    char name[96];
    channel_name(chip_text, feat->name, label ? label : feat->name, unit, pkgs, name, sizeof name);
    hwmon_chan *h = add(st);
    if (h) {
        h->chip = chip;
        h->subfeature = sf->number;
        h->channel = probe_add_channel(ps, src, name, unit, label ? label : "", kind, PROBE_TIER_FAST);
    }
    free(label);
}

static int hwmon_open(probe_set *ps, probe_source *src)
{
    if (ps->root[0]) {
        probe_reason(src, "libsensors reads the real /sys only (probe root is %s)", ps->root);
        return -1;
    }
    if (sensors_users) {
        probe_reason(src, "libsensors is already in use by another probe set");
        return -1;
    }
    int rc = sensors_init(NULL);
    if (rc) {
        probe_reason(src, "sensors_init: %s", sensors_strerror(rc));
        return -1;
    }
    sensors_users++;
    hwmon_state *st = calloc(1, sizeof *st);
    src->state = st;
    if (!st) {
        sensors_users--;
        sensors_cleanup();
        probe_reason(src, "out of memory");
        return -1;
    }
    int nr = 0, chips = 0, pkgs = 0;
    const sensors_chip_name *chip;
    while ((chip = sensors_get_detected_chips(NULL, &nr))) {
        char chip_text[64];
        int fnr = 0;
        const sensors_feature *feat;
        chips++;
        if (sensors_snprintf_chip_name(chip_text, sizeof chip_text, chip) < 0)
            snprintf(chip_text, sizeof chip_text, "%s", chip->prefix);
        while ((feat = sensors_get_features(chip, &fnr)))
            add_feature(ps, src, st, chip, feat, chip_text, &pkgs);
    }
    if (src->status.n_channels == 0) {
        if (chips)
            probe_reason(src, "%d hwmon chip(s) but no temperature, fan, power or energy input", chips);
        else
            probe_reason(src, "no hwmon devices in /sys/class/hwmon");
        return -1;
    }
    return 0;
}

static void hwmon_read(probe_set *ps, probe_source *src, probe_tier tier, double *values)
{
    hwmon_state *st = src->state;
    if (tier != PROBE_TIER_FAST)
        return;
    for (size_t i = 0; i < st->n; i++) {
        double v;
        int rc = sensors_get_value(st->v[i].chip, st->v[i].subfeature, &v);
        char why[128];
        if (rc) {
            snprintf(why, sizeof why, "libsensors: %s", sensors_strerror(rc));
            v = NAN;
        }
        values[st->v[i].channel] = v;
        probe_put(ps, st->v[i].channel, v, why);
    }
}

static void hwmon_close(probe_source *src)
{
    hwmon_state *st = src->state;
    if (!st)  /* sensors_init never ran for this set */
        return;
    free(st->v);
    free(st);
    src->state = NULL;
    if (--sensors_users == 0)
        sensors_cleanup();
}

const probe_source_ops probe_hwmon_ops = {"hwmon", hwmon_open, hwmon_read, hwmon_close};
