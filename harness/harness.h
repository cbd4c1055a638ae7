/* thermabench harness: configs, run plans, the runner, cooldown and preflight.
 * (Filled in by the harness issue.) */
#ifndef THERMABENCH_HARNESS_H
#define THERMABENCH_HARNESS_H

/* The built-in default config (configs/default.json compiled in). */
extern const char harness_default_config_json[];

#endif
