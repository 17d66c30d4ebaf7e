// SPDX-License-Identifier: MIT
#include "ratio_reporter.h"

#include <unistd.h>

#include <cstdio>

namespace pvops_bench {

RatioReporter::RatioReporter()
    : ConsoleReporter(isatty(STDOUT_FILENO) ? OO_Defaults : OO_Tabular) {}

void RatioReporter::ReportRuns(const std::vector<Run>& runs) {
  ConsoleReporter::ReportRuns(runs);
  for (const Run& run : runs) {
    // Repetitions give several iteration runs; their median aggregate (or the only run) is used.
    const bool usable = run.run_type == Run::RT_Iteration
                            ? !times_.contains(run.run_name.function_name)
                            : run.aggregate_name == "median";
    if (!usable || run.error_occurred) continue;
    const std::string name = run.run_name.function_name;
    const auto slash = name.find('/');
    if (slash == std::string::npos) continue;
    times_[name.substr(0, slash)][name.substr(slash + 1)] = run.GetAdjustedCPUTime();
  }
}

void RatioReporter::PrintRatios(std::ostream& out) const {
  for (const auto& [op, by_mechanism] : times_) {
    const auto direct = by_mechanism.find("direct_call");
    if (direct == by_mechanism.end() || direct->second <= 0) continue;
    out << "ratio: op=" << op;
    for (const char* mechanism : {"table_call", "patched", "inline_insn"}) {
      const auto it = by_mechanism.find(mechanism);
      if (it == by_mechanism.end()) continue;
      char text[80];
      std::snprintf(text, sizeof(text), " %s/direct_call=%.3f", mechanism,
                    it->second / direct->second);
      out << text;
    }
    out << "\n";
  }
}

}  // namespace pvops_bench
