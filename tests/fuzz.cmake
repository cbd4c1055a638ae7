# Fuzz targets, one per parser (docs/FUZZING.md). Each is built twice over:
# with the fuzz preset (clang, THERMABENCH_FUZZ) as a libFuzzer binary for
# scripts/fuzz.sh, and in every build as a replay program that ctest runs over
# the target's seed corpus (tests/fuzz/corpus/NAME, plus files named here from
# ../shared), so any compiler checks that no known input crashes a parser.
# Adding a parser: write tests/fuzz/fuzz_X.c (LLVMFuzzerTestOneInput), seed
# tests/fuzz/corpus/X/, and add one tb_fuzz_target line below.
#   tb_fuzz_target(NAME SOURCE LIBS [SEEDS extra files or directories...])
function(tb_fuzz_target name source libs)
  cmake_parse_arguments(F "" "" "SEEDS" ${ARGN})
  set(exe fuzz_${name})
  if(THERMABENCH_FUZZ)
    add_executable(${exe} fuzz/${source})
    target_link_options(${exe} PRIVATE -fsanitize=fuzzer)
  else()
    add_executable(${exe} fuzz/${source} fuzz/replay_main.c)
  endif()
  target_include_directories(${exe} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz)
  target_link_libraries(${exe} PRIVATE ${libs})
  # Every seed as a file: libFuzzer runs files given by name once each and
  # exits (a directory would be fuzzed), and the replay program takes both.
  file(GLOB seeds CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/${name}/*)
  foreach(s ${F_SEEDS})
    if(IS_DIRECTORY ${s})
      file(GLOB more CONFIGURE_DEPENDS ${s}/*)
      list(APPEND seeds ${more})
    elseif(EXISTS ${s})
      list(APPEND seeds ${s})
    endif()
  endforeach()
  add_test(NAME fuzz_replay_${name} COMMAND ${exe} ${seeds})
  set_tests_properties(fuzz_replay_${name} PROPERTIES LABELS "fuzz")
endfunction()

set(SHARED_MODELS ${THERMABENCH_SHARED_DIR}/models)
# The oracle pack's qwen3 (q/k norms, key_length), qwen2 (biases) and Llama 3
# rope-scaled (rope_freqs) files in Q4_K_M/Q6_K seed the architectures and K-quants.
set(ORACLE_MODELS ${THERMABENCH_SHARED_DIR}/oracles/models)
tb_fuzz_target(gguf fuzz_model.c thermabench_engine SEEDS ${SHARED_MODELS}/stories260K/model.gguf
               ${ORACLE_MODELS}/qwen3-tiny-Q4_K_M.gguf ${ORACLE_MODELS}/qwen2-tiny-Q6_K.gguf
               ${ORACLE_MODELS}/llama3-tiny-ropescaled-Q4_K_M.gguf)
tb_fuzz_target(llama2c fuzz_model.c thermabench_engine SEEDS ${SHARED_MODELS}/stories260K/model.bin
               ${SHARED_MODELS}/aidreams260K/model.bin)
tb_fuzz_target(tokenizer fuzz_tokenizer.c thermabench_engine SEEDS ${SHARED_MODELS}/stories260K/tokenizer.bin
               ${SHARED_MODELS}/aidreams260K/tokenizer.bin)
tb_fuzz_target(config fuzz_config.c thermabench_harness SEEDS ${CMAKE_SOURCE_DIR}/configs)
tb_fuzz_target(results fuzz_results.c thermabench_reports)
tb_fuzz_target(metrics fuzz_metrics.c thermabench_harness)
