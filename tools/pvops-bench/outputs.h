// What the reporter writes: results.json (Google Benchmark's JSON schema, so compare.py can
// compare two runs), report.md (tables a person reads), and the chart (SVG).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_results.h"
#include "linux_comparison.h"

namespace pvops_bench {

struct RunContext {
  std::string date;  // ISO 8601, when the reporter ran
  std::string host_name;
  std::string executable;  // the guest image benched
  int num_cpus = 0;
};

// Google Benchmark's schema: {"context": {...}, "benchmarks": [...]}. One benchmark per guest
// measurement, named ENV/OP/IMPL: iterations = samples, real_time = cpu_time = the median in the
// guest's virtual nanoseconds (cycles / tsc_khz), time_unit "ns", and the cycles, p99 and exit
// counts as extra counters. Host benchmarks (`host`) follow under host/OP/MECHANISM unchanged.
// With `comparison`, it goes in a "linux_comparison" member beside them.
nlohmann::json ResultsJson(const RunContext& context, const std::vector<EnvironmentBench>& envs,
                           const nlohmann::json* host, const LinuxComparison* comparison = nullptr);

// Without `comparison`, the "pvops vs Linux's own" section is one line saying it was not asked
// for; without `envs`, only that section has content.
std::string ReportMarkdown(const RunContext& context, const std::vector<EnvironmentBench>& envs,
                           const std::vector<HostTime>& host, const std::string& chart_file,
                           const LinuxComparison* comparison = nullptr);

// A table cell's text: a '|' would end the cell.
std::string MarkdownCell(const std::string& text);

// The "pvops vs Linux's own" section of report.md, and results.json's "linux_comparison".
std::string LinuxComparisonMarkdown(const LinuxComparison& comparison);
nlohmann::json LinuxComparisonJson(const LinuxComparison& comparison);

// Grouped bars: per op, the median cycles of the pvops path in each environment (log scale).
std::string ChartSvg(const std::vector<EnvironmentBench>& envs);

// Ops in the guest's printing order, as they first appear across environments.
std::vector<std::string> OpOrder(const std::vector<EnvironmentBench>& envs);

}  // namespace pvops_bench
