/* Cooldown between runs: none, a fixed pause, or waiting until a temperature
 * channel is back within X °C of its idle baseline (or below T), with a
 * timeout. Temperatures come from the probes' sampler thread. */
#include <math.h>
#include <string.h>
#include <time.h>

#include "harness_internal.h"

void harness_sleep_s(double seconds)
{
    double end = harness_now_s() + seconds;
    while (!harness_interrupted()) {
        double left = end - harness_now_s();
        if (left <= 0) break;
        if (left > 0.05) left = 0.05;
        struct timespec ts = {(time_t)left, (long)((left - (time_t)left) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

probe_device harness_workload_device(const harness_workload *w)
{
    return w->kind == HARNESS_WORKLOAD_ENGINE && !strcmp(w->backend, "opencl") ? PROBE_DEVICE_GPU : PROBE_DEVICE_CPU;
}

int harness_temp_channel(const harness_config *c, probe_set *ps)
{
    if (!ps) return -1;
    if (c->cooldown.channel[0]) return probe_set_find(ps, c->cooldown.channel);
    /* One variant on the GPU is enough: its heat is what the runs share. */
    probe_device dev = PROBE_DEVICE_CPU;
    for (int v = 0; v < c->n_variants; v++)
        if (harness_workload_device(&c->variants[v].workload) == PROBE_DEVICE_GPU) dev = PROBE_DEVICE_GPU;
    return probe_device_temp_channel(ps, dev);
}

/* The latest reading, waiting up to a second for the sampler's first one. */
static double read_temp(probe_sampler *s, int channel)
{
    double v = probe_sampler_latest(s, channel);
    for (int i = 0; i < 20 && isnan(v) && !harness_interrupted(); i++) {
        harness_sleep_s(0.05);
        v = probe_sampler_latest(s, channel);
    }
    return v;
}

void harness_cooldown(const harness_config *c, probe_sampler *s, int channel, double baseline_c,
                      harness_cooldown_result *r)
{
    memset(r, 0, sizeof *r);
    r->temp_start_c = r->temp_end_c = r->target_c = NAN;
    if (c->cooldown.mode == HARNESS_COOLDOWN_NONE) return;
    double t0 = harness_now_s();
    r->done = true;
    if (s && channel >= 0) r->temp_start_c = read_temp(s, channel);
    if (c->cooldown.mode == HARNESS_COOLDOWN_FIXED) {
        harness_sleep_s(c->cooldown.seconds);
    } else {
        r->target_c = !isnan(c->cooldown.below_c) ? c->cooldown.below_c : baseline_c + c->cooldown.within_c;
        if (isnan(r->target_c) || !s || channel < 0) {
            /* No temperature to wait for: say so through NAN fields, pause for
             * the timeout's worth would waste time; do not wait. */
            r->waited_s = harness_now_s() - t0;
            return;
        }
        for (;;) {
            double v = read_temp(s, channel);
            if (!isnan(v) && v <= r->target_c) break;
            if (harness_interrupted()) { r->interrupted = true; break; }
            if (harness_now_s() - t0 >= c->cooldown.timeout_s) { r->timed_out = true; break; }
            harness_sleep_s(c->cooldown.poll_ms / 1e3);
        }
    }
    r->interrupted |= harness_interrupted();
    r->waited_s = harness_now_s() - t0;
    if (s && channel >= 0) r->temp_end_c = read_temp(s, channel);
}
