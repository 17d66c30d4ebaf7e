/* SPDX-License-Identifier: MIT */
// The console reporter, plus the figures this benchmark exists for: per op, each mechanism's
// time over direct_call's, from the same run's CPU times (the machine is shared: wall time
// includes other processes' turns).
#pragma once

#include <benchmark/benchmark.h>

#include <map>
#include <ostream>
#include <string>

namespace pvops_bench {

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  // Colours only on a terminal: ./pvops bench keeps the output in a file.
  RatioReporter();
  void ReportRuns(const std::vector<Run>& runs) override;
  void PrintRatios(std::ostream& out) const;

 private:
  // op -> mechanism -> CPU time per iteration (ns)
  std::map<std::string, std::map<std::string, double>> times_;
};

}  // namespace pvops_bench
