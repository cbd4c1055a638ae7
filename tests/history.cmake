# history: the results store (SQLite; PostgreSQL under the 'postgres' label,
# against a private server the postgres fixture starts and stops).
tb_add_test(NAME test_history_store SOURCES test_history_store.c LIBS thermabench_history LABELS history unit)
tb_add_test(NAME test_history_store_postgres SOURCES test_history_store.c LIBS thermabench_history
  LABELS history postgres ARGS ${CMAKE_CURRENT_BINARY_DIR}/postgres.env)
set_tests_properties(test_history_store_postgres PROPERTIES FIXTURES_REQUIRED postgres)

add_test(NAME history_postgres_start
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/postgres-fixture.sh start ${CMAKE_CURRENT_BINARY_DIR}/postgres.env)
add_test(NAME history_postgres_stop
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/postgres-fixture.sh stop ${CMAKE_CURRENT_BINARY_DIR}/postgres.env)
set_tests_properties(history_postgres_start PROPERTIES FIXTURES_SETUP postgres LABELS "history;postgres")
set_tests_properties(history_postgres_stop PROPERTIES FIXTURES_CLEANUP postgres LABELS "history;postgres")
tb_add_test(NAME test_history_cli SOURCES test_history_cli.c LIBS thermabench_history LABELS history cli)
add_dependencies(test_history_cli thermabench)
tb_add_test(NAME test_history_cli_postgres SOURCES test_history_cli.c LIBS thermabench_history
  LABELS history cli postgres ARGS ${CMAKE_CURRENT_BINARY_DIR}/postgres.env)
set_tests_properties(test_history_cli_postgres PROPERTIES FIXTURES_REQUIRED postgres)
# Change-point detection rates on synthetic series (not a test; docs/HISTORY.md).
add_executable(bench_history_changepoints bench_history_changepoints.c)
target_link_libraries(bench_history_changepoints PRIVATE thermabench_history)
tb_add_test(NAME test_history_changepoints SOURCES test_history_changepoints.c LIBS thermabench_history
  LABELS history statistics)
