# CPU kernel variants (SIMD, quantized, threaded) and the thread pool.
tb_add_test(NAME test_engine_kernels SOURCES test_engine_kernels.c
            LIBS thermabench_engine LABELS engine kernels)
tb_add_test(NAME test_engine_kernels_pool SOURCES test_engine_kernels_pool.c
            LIBS thermabench_engine LABELS engine kernels)
tb_add_test(NAME test_engine_kernels_models SOURCES test_engine_kernels_models.c
            LIBS thermabench_engine LABELS engine kernels)
# A matmul microbenchmark (not registered as a test): see its header.
add_executable(bench_engine_kernels bench_engine_kernels.c)
target_link_libraries(bench_engine_kernels PRIVATE thermabench_engine)
tb_add_test(NAME test_engine_kernels_fallback_avx2 SOURCES test_engine_kernels_fallback.c
            LIBS thermabench_engine LABELS engine kernels ARGS avx512)
tb_add_test(NAME test_engine_kernels_fallback_baseline SOURCES test_engine_kernels_fallback.c
            LIBS thermabench_engine LABELS engine kernels ARGS avx512,avx2)
tb_add_test(NAME test_engine_kernels_cli SOURCES test_engine_kernels_cli.c
            LIBS thermabench_engine LABELS engine kernels cli)
tb_add_test(NAME test_engine_decode_batch SOURCES test_engine_decode_batch.c
            LIBS thermabench_engine LABELS engine kernels)
