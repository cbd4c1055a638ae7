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
add_dependencies(test_harness_e2e thermabench fake_workload fake_nvml)
target_compile_definitions(test_harness_e2e PRIVATE FAKE_NVML="$<TARGET_FILE:fake_nvml>")
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
tb_add_test(NAME test_harness_lock SOURCES test_harness_lock.c
            LIBS PkgConfig::CJSON LABELS harness cli
            ARGS $<TARGET_FILE:fake_workload>)
add_dependencies(test_harness_lock thermabench fake_workload)
tb_add_test(NAME test_harness_gpu_idle SOURCES test_harness_gpu_idle.c
            LIBS thermabench_harness ${CMAKE_DL_LIBS} LABELS harness unit
            ARGS $<TARGET_FILE:fake_nvml>)
add_dependencies(test_harness_gpu_idle fake_nvml)
# Build provenance in a clone of this checkout: a commit and `cmake --build`
# alone change what --version and results.json name (builds the binary
# twice at -O0: minutes on a loaded machine).
add_test(NAME test_build_provenance COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/test_build_provenance.sh ${CMAKE_SOURCE_DIR})
set_tests_properties(test_build_provenance PROPERTIES LABELS "harness;build" SKIP_RETURN_CODE 77 TIMEOUT 1500)
# cmake --install into a temporary prefix: binary, man page, examples, docs.
add_test(NAME test_install COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/test_install.sh ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR})
set_tests_properties(test_install PROPERTIES LABELS "harness;build" TIMEOUT 300)
