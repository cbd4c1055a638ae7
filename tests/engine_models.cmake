# Llama 3 / Qwen2 / Qwen3 model files (F32 and K-quants) against llama.cpp's
# outputs in ../shared/oracles: default kernels and the scalar reference.
tb_add_test(NAME test_engine_model_oracles SOURCES test_engine_model_oracles.c
            LIBS thermabench_engine PkgConfig::CJSON m LABELS engine)
add_test(NAME test_engine_model_oracles_scalar COMMAND test_engine_model_oracles all=scalar)
set_tests_properties(test_engine_model_oracles_scalar PROPERTIES LABELS engine SKIP_RETURN_CODE 77)
add_test(NAME test_engine_model_oracles_q8 COMMAND test_engine_model_oracles matmul=scalar_q8 attention=scalar)
set_tests_properties(test_engine_model_oracles_q8 PROPERTIES LABELS engine SKIP_RETURN_CODE 77)
add_test(NAME test_engine_model_oracles_q8_default_attention COMMAND test_engine_model_oracles matmul=scalar_q8)
set_tests_properties(test_engine_model_oracles_q8_default_attention PROPERTIES LABELS engine SKIP_RETURN_CODE 77)
# K-quant blocks, dot products, avx512_kq against scalar_q8, malformed files.
tb_add_test(NAME test_engine_kquant SOURCES test_engine_kquant.c
            LIBS thermabench_engine m LABELS engine)
# q4_K matrices on the OpenCL device (PoCL in CI) against the CPU reference.
tb_add_test(NAME test_engine_opencl_kquant SOURCES test_engine_opencl_kquant.c
            LIBS thermabench_engine m LABELS engine opencl)
# The same files on the OpenCL backend (PoCL in CI), also against the CPU
# scalar reference step by step: the device defaults for CPUs (cl_rowitem,
# cl_attention) and those for GPUs (cl_rowgroup with its fused kernels, cl_split).
add_test(NAME test_engine_model_oracles_opencl COMMAND test_engine_model_oracles backend=opencl)
set_tests_properties(test_engine_model_oracles_opencl PROPERTIES LABELS "engine;opencl" SKIP_RETURN_CODE 77)
add_test(NAME test_engine_model_oracles_opencl_gpu_kernels
         COMMAND test_engine_model_oracles backend=opencl matmul=cl_rowgroup attention=cl_split)
set_tests_properties(test_engine_model_oracles_opencl_gpu_kernels PROPERTIES LABELS "engine;opencl"
                     SKIP_RETURN_CODE 77)
# Where generation ends: llama.cpp's end-of-generation sets, and EOS moved
# onto a greedy token of a tiny model.
tb_add_test(NAME test_engine_generate_eog SOURCES test_engine_generate_eog.c
            LIBS thermabench_engine PkgConfig::CJSON LABELS engine)
