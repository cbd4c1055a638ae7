/* thermabench reports: statistics, comparison and gate verdicts, result
 * files and plots. (Filled in by the statistics issue.) */
#ifndef THERMABENCH_REPORTS_H
#define THERMABENCH_REPORTS_H
#endif
