# harness: configs, run plans, the runner, cooldown, preflight, `thermabench run`.
add_executable(fake_workload fake_workload.c)
target_link_libraries(fake_workload PRIVATE m)
tb_add_test(NAME test_harness_config SOURCES test_harness_config.c
            LIBS thermabench_harness LABELS harness unit
            ARGS $<TARGET_FILE:fake_workload>)
add_dependencies(test_harness_config fake_workload)
tb_add_test(NAME test_harness_e2e SOURCES test_harness_e2e.c
            LIBS PkgConfig::CJSON m LABELS harness cli
            ARGS $<TARGET_FILE:fake_workload>)
add_dependencies(test_harness_e2e thermabench fake_workload)
tb_add_test(NAME test_harness_lock SOURCES test_harness_lock.c
            LIBS PkgConfig::CJSON LABELS harness cli
            ARGS $<TARGET_FILE:fake_workload>)
add_dependencies(test_harness_lock thermabench fake_workload)
