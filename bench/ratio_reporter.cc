#include "ratio_reporter.h"

#include <cstdio>

namespace pvops_bench {

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
    const auto table = by_mechanism.find("pvops_table_call");
    const auto inline_insn = by_mechanism.find("inline_insn");
    if (direct == by_mechanism.end() || table == by_mechanism.end()) continue;
    char line[200];
    std::snprintf(line, sizeof(line), "ratio: op=%s pvops_table_call/direct_call=%.3f", op.c_str(),
                  table->second / direct->second);
    out << line;
    if (inline_insn != by_mechanism.end() && inline_insn->second > 0) {
      std::snprintf(line, sizeof(line), " pvops_table_call/inline_insn=%.3f",
                    table->second / inline_insn->second);
      out << line;
    }
    out << "\n";
  }
}

}  // namespace pvops_bench
