# OpenCL backend: greedy outputs of the shared models on the device (PoCL in
# CI), forward-pass logits against a host reference, and the no-OpenCL path.
tb_add_test(NAME test_engine_opencl SOURCES test_engine_opencl.c
            LIBS thermabench_engine m LABELS engine opencl)
tb_add_test(NAME test_engine_opencl_noplatform SOURCES test_engine_opencl_noplatform.c
            LIBS thermabench_engine LABELS engine opencl)
tb_add_test(NAME test_engine_opencl_noloader SOURCES test_engine_opencl_noloader.c
            LIBS thermabench_engine LABELS engine opencl)
tb_add_test(NAME test_engine_opencl_cli SOURCES test_engine_opencl_cli.c
            LIBS thermabench_engine LABELS engine opencl cli)
add_dependencies(test_engine_opencl_cli thermabench)
# Microbenchmark (not a test): the backend's decode kernels against a plain read.
if(THERMABENCH_OPENCL)
  add_executable(bench_engine_opencl bench_engine_opencl.c)
  target_include_directories(bench_engine_opencl PRIVATE ${OpenCL_INCLUDE_DIRS})
  target_link_libraries(bench_engine_opencl PRIVATE thermabench_engine)
endif()
