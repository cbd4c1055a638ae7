# docs: every command line of README.md and docs/*.md runs as written, from
# the repository root, after the README's set-up. Release builds only: it
# runs the real workloads, which ASan would stretch to hours. A command still
# running after 15 s is stopped and listed (a bad option fails long before).
if(NOT THERMABENCH_SANITIZE)
  if(NOT DEFINED Python3_EXECUTABLE AND EXISTS /usr/bin/python3)
    set(Python3_EXECUTABLE /usr/bin/python3)
  endif()
  find_package(Python3 COMPONENTS Interpreter REQUIRED)
  add_test(NAME test_docs_commands
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tests/scripts/check_docs_commands.py
                   ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR} ${THERMABENCH_SHARED_DIR})
  set_tests_properties(test_docs_commands PROPERTIES LABELS "docs" TIMEOUT 3600
                       ENVIRONMENT "THERMABENCH_DOCS_FOLLOW_S=15;THERMABENCH_HISTORY=${CMAKE_BINARY_DIR}/tests/history/docs.db")
endif()
