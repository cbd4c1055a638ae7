# harness: configs, run plans, the runner, cooldown, preflight, `thermabench run`.
# Python checks read outputs as their consumers would; Debian's interpreter
# first, where scripts/install-deps.sh puts the modules they import.
if(NOT DEFINED Python3_EXECUTABLE AND EXISTS /usr/bin/python3)
  set(Python3_EXECUTABLE /usr/bin/python3)
endif()
find_package(Python3 COMPONENTS Interpreter REQUIRED)
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
target_compile_definitions(test_harness_e2e PRIVATE TB_PYTHON3="${Python3_EXECUTABLE}")
tb_add_test(NAME test_harness_command SOURCES test_harness_command.c
            LIBS thermabench_harness LABELS harness unit
            ARGS $<TARGET_FILE:fake_workload>)
add_dependencies(test_harness_command fake_workload)
tb_add_test(NAME test_harness_cmd SOURCES test_harness_cmd.c
            LIBS PkgConfig::CJSON LABELS harness cli
            ARGS $<TARGET_FILE:fake_workload>)
add_dependencies(test_harness_cmd thermabench fake_workload)
target_compile_definitions(test_harness_cmd PRIVATE TB_PYTHON3="${Python3_EXECUTABLE}")
