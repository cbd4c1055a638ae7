# reports: statistics, compare, gate, report outputs.
tb_add_test(NAME test_reports_stats SOURCES test_reports_stats.c LIBS thermabench_reports LABELS reports unit)
tb_add_test(NAME test_reports_montecarlo SOURCES test_reports_montecarlo.c LIBS thermabench_reports LABELS reports statistics)
tb_add_test(NAME test_reports_validity SOURCES test_reports_validity.c LIBS thermabench_reports LABELS reports statistics)
tb_add_test(NAME test_reports_cli SOURCES test_reports_cli.c LIBS thermabench_reports LABELS reports cli)
add_dependencies(test_reports_cli thermabench)
tb_add_test(NAME test_reports_escape SOURCES test_reports_escape.c LIBS thermabench_reports LABELS reports unit)
tb_add_test(NAME test_reports_ranks SOURCES test_reports_ranks.c LIBS thermabench_reports LABELS reports statistics)
# compare's time against runs per variant (not registered as a test): see its header.
add_executable(bench_reports_compare bench_reports_compare.c)
target_link_libraries(bench_reports_compare PRIVATE thermabench_reports PkgConfig::CJSON m)
target_include_directories(bench_reports_compare PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
# Every output fed hostile names, checked with real parsers (Python, cmark-gfm, xmllint).
find_package(Python3 COMPONENTS Interpreter)
if(Python3_Interpreter_FOUND)
  add_test(NAME test_reports_hostile COMMAND Python3::Interpreter ${CMAKE_CURRENT_SOURCE_DIR}/test_reports_hostile.py
           $<TARGET_FILE:thermabench>)
  set_tests_properties(test_reports_hostile PROPERTIES LABELS "reports;cli" SKIP_RETURN_CODE 77)
endif()
