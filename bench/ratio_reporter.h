// The console reporter, plus the figure this benchmark exists for: per op, the pvops table's call
// over the direct call (and over the inline instruction), from the same run's CPU times (the
// machine is shared: wall time includes other processes' turns).
#pragma once

#include <benchmark/benchmark.h>

#include <map>
#include <ostream>
#include <string>

namespace pvops_bench {

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override;
  void PrintRatios(std::ostream& out) const;

 private:
  // op -> mechanism -> CPU time per iteration (ns)
  std::map<std::string, std::map<std::string, double>> times_;
};

}  // namespace pvops_bench
