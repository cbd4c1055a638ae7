/* The headline of a phase: which channel stands for a device's temperature,
 * power, energy, clock and memory pressure. The names are the stable ones
 * of docs/PROBES.md; this file is the one place that picks among them. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "probes_internal.h"

static bool has_gpu(const probe_set *ps)
{
    return probe_set_find(ps, "gpu0.temp_c") >= 0 || probe_set_find(ps, "gpu0.power_w") >= 0 ||
           probe_set_find(ps, "gpu0.sm_clock_mhz") >= 0 || probe_set_find(ps, "gpu0.energy_j") >= 0;
}

int probe_device_temp_channel(const probe_set *ps, probe_device dev)
{
    if (!ps)
        return -1;
    if (dev == PROBE_DEVICE_GPU && has_gpu(ps))
        return probe_set_find(ps, "gpu0.temp_c");
    int pkg = probe_set_find(ps, "cpu.pkg.temp_c");
    if (pkg >= 0)
        return pkg;
    for (size_t i = 0; i < probe_set_channel_count(ps); i++) {
        const probe_channel *ch = probe_set_channel(ps, i);
        if (!strcmp(ch->unit, "c") && strncmp(ch->name, "gpu", 3))
            return (int)i;
    }
    return -1;
}

/* A package-level RAPL zone: "rapl.package-0.energy_j", not a subzone
 * ("rapl.package-0.core.energy_j"), whose energy the package's includes. */
static bool rapl_package(const char *name)
{
    const char *rest = name + strlen("rapl.package-");
    return !strncmp(name, "rapl.package-", strlen("rapl.package-")) && strchr(rest, '.') &&
           !strcmp(strchr(rest, '.'), ".energy_j");
}

static const probe_channel_summary *summary_of(const probe_phase_summary *s, int channel)
{
    return channel >= 0 && (size_t)channel < s->n_channels ? &s->channels[channel] : NULL;
}

/* CPU: RAPL packages summed, else the first hwmon energy counter; power from
 * the first hwmon power gauge; clocks from cpufreq's mean and minimum. */
static void cpu_figures(const probe_set *ps, const probe_phase_summary *s, probe_headline *h)
{
    double rapl = NAN, hwmon_j = NAN;
    for (size_t i = 0; i < s->n_channels; i++) {
        const probe_channel *ch = probe_set_channel(ps, i);
        const probe_channel_summary *cs = &s->channels[i];
        if (!strncmp(ch->name, "gpu", 3))
            continue;
        if (rapl_package(ch->name) && isfinite(cs->delta))
            rapl = isnan(rapl) ? cs->delta : rapl + cs->delta;
        else if (!strncmp(ch->name, "hwmon.", 6) && !strcmp(ch->unit, "j") && isnan(hwmon_j))
            hwmon_j = cs->delta;
        else if (!strncmp(ch->name, "hwmon.", 6) && !strcmp(ch->unit, "w") && isnan(h->power_mean_w))
            h->power_mean_w = cs->mean;
    }
    h->energy_j = isfinite(rapl) ? rapl : hwmon_j;
    const probe_channel_summary *mean = summary_of(s, probe_set_find(ps, "cpu.clock_mean_mhz"));
    const probe_channel_summary *min = summary_of(s, probe_set_find(ps, "cpu.clock_min_mhz"));
    h->clock_mean_mhz = mean ? mean->mean : NAN;
    h->clock_min_mhz = min ? min->min : NAN;
}

static double mean_of(const probe_set *ps, const probe_phase_summary *s, const char *name)
{
    const probe_channel_summary *c = summary_of(s, probe_set_find(ps, name));
    return c ? c->mean : NAN;
}

static double delta_of(const probe_set *ps, const probe_phase_summary *s, const char *name)
{
    const probe_channel_summary *c = summary_of(s, probe_set_find(ps, name));
    return c ? c->delta : NAN;
}

/* GPU 0 through NVML: its power gauge against the enforced limit, total
 * energy, SM and memory clocks, violation times, utilisation and the
 * clock-event reasons. */
static void gpu_figures(const probe_set *ps, const probe_phase_summary *s, probe_headline *h)
{
    const probe_channel_summary *power = summary_of(s, probe_set_find(ps, "gpu0.power_w"));
    const probe_channel_summary *energy = summary_of(s, probe_set_find(ps, "gpu0.energy_j"));
    const probe_channel_summary *clock = summary_of(s, probe_set_find(ps, "gpu0.sm_clock_mhz"));
    h->power_mean_w = power ? power->mean : NAN;
    h->energy_j = energy ? energy->delta : NAN;
    h->clock_mean_mhz = clock ? clock->mean : NAN;
    h->clock_min_mhz = clock ? clock->min : NAN;
    const probe_channel_summary *mem = summary_of(s, probe_set_find(ps, "gpu0.mem_clock_mhz"));
    h->mem_clock_mean_mhz = mem ? mem->mean : NAN;
    h->mem_clock_min_mhz = mem ? mem->min : NAN;
    h->power_limit_w = mean_of(ps, s, "gpu0.power_limit_w");
    h->util_mean_pct = mean_of(ps, s, "gpu0.util_pct");
    h->power_cap_time_ms = delta_of(ps, s, "gpu0.power_cap_time_ms");
    h->thermal_cap_time_ms = delta_of(ps, s, "gpu0.thermal_cap_time_ms");
    const probe_channel_summary *ev = summary_of(s, probe_set_find(ps, "gpu0.throttle_reasons"));
    h->clock_event_mask = ev ? ev->bits_or : NAN;
    if (isfinite(h->clock_event_mask))
        probe_gpu_clock_event_names((unsigned long long)h->clock_event_mask, h->clock_events, sizeof h->clock_events);
}

void probe_phase_headline(const probe_set *ps, const probe_phase_summary *s, probe_device dev, int temp_channel,
                          probe_headline *h)
{
    memset(h, 0, sizeof *h);
    bool gpu = dev == PROBE_DEVICE_GPU && has_gpu(ps);
    snprintf(h->device, sizeof h->device, "%s", gpu ? "gpu0" : "cpu");
    h->temp_start_c = h->temp_end_c = h->temp_peak_c = NAN;
    h->power_mean_w = h->energy_j = h->clock_mean_mhz = h->clock_min_mhz = h->temp_mean_c = NAN;
    h->mem_clock_mean_mhz = h->mem_clock_min_mhz = h->power_limit_w = NAN;
    h->power_cap_time_ms = h->thermal_cap_time_ms = h->util_mean_pct = h->clock_event_mask = NAN;
    h->duration_s = (double)(s->t_end_ns - s->t_begin_ns) / 1e9;
    h->temp_channel = temp_channel >= 0 ? temp_channel : probe_device_temp_channel(ps, gpu ? dev : PROBE_DEVICE_CPU);
    const probe_channel_summary *t = summary_of(s, h->temp_channel);
    if (t) {
        h->temp_start_c = t->start;
        h->temp_end_c = t->end;
        h->temp_peak_c = t->max;
        h->temp_mean_c = t->mean;
    }
    if (gpu)
        gpu_figures(ps, s, h);
    else
        cpu_figures(ps, s, h);
    if (isnan(h->power_mean_w) && isfinite(h->energy_j) && h->duration_s > 0)
        h->power_mean_w = h->energy_j / h->duration_s;
    const probe_channel_summary *psi = summary_of(s, probe_set_find(ps, "mem.psi_some_us"));
    h->mem_psi_some_us = psi ? psi->delta : NAN;
    h->throttle = s->throttle;
    snprintf(h->throttle_cause, sizeof h->throttle_cause, "%s", s->throttle_cause);
}
