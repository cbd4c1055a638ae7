# OpenCL backend: greedy outputs of the shared models on the device (PoCL in
# CI), forward-pass logits against a host reference, and the no-OpenCL path.
tb_add_test(NAME test_engine_opencl SOURCES test_engine_opencl.c
            LIBS thermabench_engine m LABELS engine opencl)
# The same cases with cl_rowgroup's opt-in q8_0 int8-activation decode.
add_test(NAME test_engine_opencl_q8xq COMMAND test_engine_opencl)
set_tests_properties(test_engine_opencl_q8xq PROPERTIES LABELS "engine;opencl" SKIP_RETURN_CODE 77
                     ENVIRONMENT "THERMABENCH_OPENCL_BUILD_OPTIONS=-DQ8_XQ")
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
