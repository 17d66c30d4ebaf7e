/* SPDX-License-Identifier: MIT */
// What the reporter writes: results.json (Google Benchmark's JSON schema, so compare.py can
// compare two runs), report.md (tables a person reads), and the chart (SVG).
#pragma once

#include <string>
#include <utility>
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

// The host benchmark: per build (plain, retpoline) its Google Benchmark JSON, and callgrind's
// instruction counts where valgrind ran.
struct HostRun {
  std::string build;
  nlohmann::json gbench;
};
// Several processes of each build: where a process's code and data land moves its times by a
// few percent, so a figure pools every repetition of every process of the build.
struct HostData {
  std::vector<HostRun> runs;
  std::vector<HostInstructions> instructions;
  std::string callgrind_skipped;  // why there are no instruction counts; "" when there are
  // Per build, op and mechanism: the median CPU time over the repetitions of every process.
  std::vector<HostTime> Times() const;
  // The builds, in the order of their first process.
  std::vector<std::string> Builds() const;
  uint32_t Processes(const std::string& build) const;
};

// Google Benchmark's schema: {"context": {...}, "benchmarks": [...]}. One benchmark per guest
// measurement, named ENV/OP/VARIANT: iterations = the ops timed, real_time = cpu_time = the
// median round's cycles per op in the guest's virtual nanoseconds (cycles / tsc_khz), time_unit
// "ns", and the cycles, the rounds' range, ratios and exit counts as extra counters. Host
// benchmarks follow as host/OP/MECHANISM (plain build) and host-retpoline/OP/MECHANISM, with
// callgrind's instructions per op as a counter. Each hop of a moved guest is one benchmark,
// ENV/move_downtime/RUN/hopN_FROM_to_TO, in ms. With `comparison`, it goes in a
// "linux_comparison" member beside them.
nlohmann::json ResultsJson(const RunContext& context, const std::vector<EnvironmentBench>& envs,
                           const HostData& host, const LinuxComparison* comparison = nullptr);

// Without `comparison`, the "pvops vs Linux's own" section is one line saying it was not asked
// for; without `envs`, only that section has content.
std::string ReportMarkdown(const RunContext& context, const std::vector<EnvironmentBench>& envs,
                           const HostData& host, const std::string& chart_file,
                           const LinuxComparison* comparison = nullptr);

// The summary the README carries: per environment, table/raw and patched/raw of the main ops
// and the flags.
std::string RatioTable(const std::vector<EnvironmentBench>& envs);
// Per environment whose guest moved: each hop's downtime, its phases and the guest's clock,
// and the downtime's median and range against the goal; "" when no guest moved.
std::string MoveTable(const std::vector<EnvironmentBench>& envs);
// The host's ratios over direct_call and instructions per op, both builds.
std::string HostTable(const HostData& host);

// A table cell's text: a '|' would end the cell.
std::string MarkdownCell(const std::string& text);

// The "pvops vs Linux's own" section of report.md, and results.json's "linux_comparison".
std::string LinuxComparisonMarkdown(const LinuxComparison& comparison);
nlohmann::json LinuxComparisonJson(const LinuxComparison& comparison);

// Grouped bars: per op, the median cycles of the patched path in each environment (log scale).
std::string ChartSvg(const std::vector<EnvironmentBench>& envs);

// Ops in the guest's printing order, as they first appear across environments.
std::vector<std::string> OpOrder(const std::vector<EnvironmentBench>& envs);

// The ops the summary tables show, in order.
inline const std::vector<std::string> kSummaryOps = {"irq_save_restore", "hypercall_null",
                                                     "clock_ns", "flush_tlb_one"};

}  // namespace pvops_bench
