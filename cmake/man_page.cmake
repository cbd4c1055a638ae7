# Writes the thermabench(1) man page from the built binary's own help texts
# (`thermabench --help` and every subcommand's `--help`), so the page never
# drifts from the options the binary takes.
#   cmake -DTB=path/to/thermabench -DVERSION= -DOUT=thermabench.1 -P man_page.cmake
function(help_of var)
  execute_process(COMMAND "${TB}" ${ARGN} OUTPUT_VARIABLE out RESULT_VARIABLE rc ERROR_QUIET)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${TB} ${ARGN}: exit ${rc}")
  endif()
  # roff: a backslash is \e; a line starting with . or ' would be a request.
  string(REPLACE "\\" "\\e" out "${out}")
  string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" out "${out}")
  set(${var} "${out}" PARENT_SCOPE)
endfunction()

help_of(main --help)
set(page ".TH THERMABENCH 1 \"\" \"thermabench ${VERSION}\" \"User Commands\"
.SH NAME
thermabench \\- benchmark LLM inference and tell code changes from heat, clocks and noise
.SH SYNOPSIS
.B thermabench
.I command
[\\fIoptions\\fR]
.br
.B thermabench \\-\\-version
.SH DESCRIPTION
Runs a reference inference engine (or any command) repeatedly under a harness
that samples temperature, power, clocks and memory pressure, and reports
throughput with confidence intervals, A/B comparisons, a CI gate with exit
codes, and reports. Exit code 2 always means bad usage or bad input.
.PP
.nf
${main}.fi
")
# The commands are the indented lines after "commands:" in the main help.
string(REGEX MATCH "commands:\n(.*)\n\n" block "${main}")
string(REGEX MATCHALL "\n  [a-z][a-z-]* " names "\n${CMAKE_MATCH_1}")
foreach(n ${names})
  string(STRIP "${n}" n)
  help_of(sub ${n} --help)
  string(APPEND page ".SH \"THERMABENCH ${n}\"\n.nf\n${sub}.fi\n")
endforeach()
string(APPEND page ".SH FILES
.TP
.I share/doc/thermabench/examples/*.json
ready-to-run experiment configs
.SH SEE ALSO
The reference documentation in the source tree: README.md, docs/CONFIG.md,
docs/RESULTS.md, docs/PROBES.md, docs/STATISTICS.md, docs/PERFORMANCE.md.
")
file(WRITE "${OUT}.tmp" "${page}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
