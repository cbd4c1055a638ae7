# reports: statistics, compare, gate, report outputs.
tb_add_test(NAME test_reports_stats SOURCES test_reports_stats.c LIBS thermabench_reports LABELS reports unit)
tb_add_test(NAME test_reports_montecarlo SOURCES test_reports_montecarlo.c LIBS thermabench_reports LABELS reports statistics)
tb_add_test(NAME test_reports_validity SOURCES test_reports_validity.c LIBS thermabench_reports LABELS reports statistics)
tb_add_test(NAME test_reports_cli SOURCES test_reports_cli.c LIBS thermabench_reports LABELS reports cli)
add_dependencies(test_reports_cli thermabench)
