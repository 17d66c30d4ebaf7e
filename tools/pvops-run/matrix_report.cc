// SPDX-License-Identifier: MIT
#include "matrix_report.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "clock_rate.h"
#include "terminal_text.h"

namespace pvops_run {
namespace {

// "pass", "FAIL" or "skip" for `name` in one environment; "-" when it did not report it.
// A name reported twice shows its worst result.
std::string Cell(const GuestLog& log, const std::string& name) {
  std::string cell = "-";
  for (const CaseLine& line : log.cases) {
    if (line.name != name) continue;
    if (line.result == CaseResult::kFail) return "FAIL";
    if (line.result == CaseResult::kSkip || cell == "-") {
      cell = std::string(CaseResultName(line.result));
    }
  }
  return cell;
}

void PrintEnvironmentDetails(const EnvironmentResult& result, std::ostream& out) {
  const std::string tag = absl::StrFormat("[%s]", result.name);
  const GuestLog& log = result.log;
  if (log.detect) {
    out << tag << " detect: " << PrintableForTerminal(log.detect_text) << '\n';
  } else {
    out << tag << " detect: (no detect line)\n";
  }
  // Every interface seen, so a choice between two (hyperv-kvm) shows both signatures.
  for (const std::string& candidate : log.candidate_texts) {
    out << tag << " candidate: " << PrintableForTerminal(candidate) << '\n';
  }
  if (!log.stats.empty()) {
    out << tag << " stats: "
        << PrintableForTerminal(absl::StrJoin(log.stats, " ", absl::PairFormatter("="))) << '\n';
  }
  if (!log.bench.empty()) out << tag << " bench: " << log.bench.size() << " lines\n";
  for (const CaseLine& line : log.cases) {
    // A pass shows only when it notes something (expected failures, docs/guest-protocol.md).
    if (line.result == CaseResult::kPass && line.reason.empty()) continue;
    const char* kind = line.result == CaseResult::kFail   ? " FAIL "
                       : line.result == CaseResult::kSkip ? " skip "
                                                          : " note ";
    out << tag << kind << PrintableForTerminal(line.name) << ": "
        << PrintableForTerminal(line.reason) << '\n';
  }
  std::string status = result.outcome.exit_status
                           ? absl::StrFormat("exit status %d", *result.outcome.exit_status)
                           : std::string("no exit status");
  std::string detail = result.verdict.verdict == Verdict::kPass
                           ? status
                           : PrintableForTerminal(result.verdict.reason);
  std::string clock_rate;
  if (std::optional<ClockRate> rate = MeasureClockRate(log)) {
    clock_rate = absl::StrCat("; ", ClockRateText(*rate));
  }
  out << tag << " verdict: " << VerdictName(result.verdict.verdict) << " (" << detail
      << absl::StrFormat(", %.1f s%s)", result.wall_seconds, clock_rate) << '\n';
}

}  // namespace

ClosingCounts SumCounts(const std::vector<EnvironmentResult>& results) {
  ClosingCounts total;
  for (const EnvironmentResult& result : results) {
    ClosingCounts seen = result.log.CountCases();
    total.passed += seen.passed;
    total.failed += seen.failed;
    total.skipped += seen.skipped;
    if (result.verdict.verdict != Verdict::kPass && seen.failed == 0) ++total.failed;
  }
  return total;
}

std::vector<std::string> CaseNamesInOrder(const std::vector<EnvironmentResult>& results) {
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (const EnvironmentResult& result : results) {
    for (const CaseLine& line : result.log.cases) {
      if (seen.insert(line.name).second) names.push_back(line.name);
    }
  }
  return names;
}

void PrintMatrix(const std::vector<EnvironmentResult>& results, std::ostream& out) {
  const std::vector<std::string> names = CaseNamesInOrder(results);
  std::size_t name_width = std::string_view("case").size();
  for (const std::string& name : names) name_width = std::max(name_width, name.size());

  // One row: the first column `name_width` wide, then one column per environment.
  auto print_row = [&](const std::string& first, auto cell_of) {
    std::string row = absl::StrFormat("%-*s", name_width, first);
    for (const EnvironmentResult& result : results) {
      absl::StrAppendFormat(&row, "  %-*s", std::max<std::size_t>(result.name.size(), 4),
                            cell_of(result));
    }
    out << std::string_view(row).substr(0, row.find_last_not_of(' ') + 1) << '\n';
  };
  out << '\n';
  print_row("case", [](const EnvironmentResult& result) { return result.name; });
  for (const std::string& name : names) {
    print_row(PrintableForTerminal(name),
              [&](const EnvironmentResult& result) { return Cell(result.log, name); });
  }
  if (names.empty()) out << "(no case lines)\n";
  out << '\n';
  for (const EnvironmentResult& result : results) PrintEnvironmentDetails(result, out);

  ClosingCounts total = SumCounts(results);
  out << absl::StrFormat("%d passed, %d failed, %d skipped", total.passed, total.failed,
                         total.skipped)
      << std::endl;
}

}  // namespace pvops_run
