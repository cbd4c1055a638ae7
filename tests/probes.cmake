# Probes: fake sysfs/procfs trees, a fake NVML, libsensors in a private mount
# namespace, and the `thermabench probe` command.

add_library(fake_nvml SHARED fake_nvml.c)
set_target_properties(fake_nvml PROPERTIES OUTPUT_NAME fake-nvidia-ml)
tb_add_test(NAME test_probes_nvml SOURCES test_probes_nvml.c
  LIBS thermabench_probes LABELS probes unit)
add_dependencies(test_probes_nvml fake_nvml)
target_compile_definitions(test_probes_nvml PRIVATE FAKE_NVML="$<TARGET_FILE:fake_nvml>")
# The sysfs tests also check the phase headline, whose GPU side needs NVML.
tb_add_test(NAME test_probes_sysfs SOURCES test_probes_sysfs.c
  LIBS thermabench_probes ${CMAKE_DL_LIBS} LABELS probes unit)
add_dependencies(test_probes_sysfs fake_nvml)
target_compile_definitions(test_probes_sysfs PRIVATE FAKE_NVML="$<TARGET_FILE:fake_nvml>")

tb_add_test(NAME test_probes_hwmon SOURCES test_probes_hwmon.c
  LIBS thermabench_probes LABELS probes unit)


tb_add_test(NAME test_probes_perf SOURCES test_probes_perf.c
  LIBS thermabench_probes Threads::Threads LABELS probes unit)

tb_add_test(NAME test_probes_cli SOURCES test_probes_cli.c
  LIBS PkgConfig::CJSON LABELS probes cli)
add_dependencies(test_probes_cli thermabench fake_nvml)
target_compile_definitions(test_probes_cli PRIVATE FAKE_NVML="$<TARGET_FILE:fake_nvml>")

# Not tests: the sampler-overhead benchmark (docs/PERFORMANCE.md) and a GPU
# busy loop for validating NVML readings under sustained load (docs/PROBES.md).
add_executable(probes_overhead probes_overhead.c)
target_link_libraries(probes_overhead PRIVATE thermabench_engine thermabench_probes m)
if(THERMABENCH_OPENCL)
  add_executable(probes_gpu_load probes_gpu_load.c)
  target_link_libraries(probes_gpu_load PRIVATE OpenCL::OpenCL)
endif()
