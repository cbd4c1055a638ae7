# Compute path: scalar ops, sessions, forward pass, sampler, generation, bench, CLI.
tb_add_test(NAME test_engine_compute SOURCES test_engine_compute.c
            LIBS thermabench_engine LABELS engine)
tb_add_test(NAME test_engine_compute_cli SOURCES test_engine_compute_cli.c
            LIBS m LABELS engine cli)
add_dependencies(test_engine_compute_cli thermabench)
