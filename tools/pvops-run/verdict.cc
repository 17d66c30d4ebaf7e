// SPDX-License-Identifier: MIT
#include "verdict.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "clock_rate.h"

namespace pvops_run {
namespace {

std::string CountsText(const ClosingCounts& counts) {
  return absl::StrFormat("%d passed, %d failed, %d skipped", counts.passed, counts.failed,
                         counts.skipped);
}

std::string FaultText(const FaultReport& fault) { return absl::StrCat("FAULT ", fault.text); }

std::string LastCaseText(const GuestLog& log) {
  if (log.cases.empty()) return "no case line seen";
  return absl::StrCat("last case seen: ", log.cases.back().number, " ", log.cases.back().name);
}

std::string FirstFailureText(const GuestLog& log) {
  for (const CaseLine& line : log.cases) {
    if (line.result != CaseResult::kFail) continue;
    if (line.reason.empty()) return absl::StrCat("first failure: ", line.name);
    return absl::StrCat("first failure: ", line.name, " (", line.reason, ")");
  }
  return "no failing case line seen";
}

std::string StatusText(const LaunchOutcome& outcome) {
  if (outcome.term_signal) return absl::StrCat("killed by signal ", *outcome.term_signal);
  if (outcome.exit_status) return absl::StrCat("exit status ", *outcome.exit_status);
  return "no exit status";
}

std::string WithLastStderr(std::string reason, const LaunchOutcome& outcome) {
  if (outcome.last_stderr_line.empty()) return reason;
  return absl::StrCat(reason, "; last stderr: ", outcome.last_stderr_line);
}

}  // namespace

std::string_view VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kPass: return "pass";
    case Verdict::kFail: return "fail";
    case Verdict::kFault: return "fault";
    case Verdict::kTimeout: return "timeout";
  }
  return "?";
}

std::optional<Verdict> ParseVerdictName(std::string_view name) {
  for (Verdict verdict : {Verdict::kPass, Verdict::kFail, Verdict::kFault, Verdict::kTimeout}) {
    if (VerdictName(verdict) == name) return verdict;
  }
  return std::nullopt;
}

VerdictWithReason DecideVerdict(const LaunchOutcome& outcome, const GuestLog& log) {
  using enum Verdict;
  if (!outcome.start_error.empty()) return {kFail, outcome.start_error};
  if (outcome.interrupted) return {kFail, "interrupted"};
  if (outcome.timed_out) {
    std::string reason = absl::StrFormat("timeout after %g s", outcome.timeout_seconds);
    if (log.fault) return {kTimeout, absl::StrCat(reason, " after ", FaultText(*log.fault))};
    return {kTimeout, absl::StrCat(reason, " (", LastCaseText(log), ")")};
  }
  if (log.fault) {
    std::string reason = FaultText(*log.fault);
    if (outcome.exit_status != kExitStatusFault) {
      absl::StrAppend(&reason, " (", StatusText(outcome), ", expected ", kExitStatusFault, ")");
    }
    return {kFault, reason};
  }
  if (outcome.exit_status == kExitStatusFault) {
    return {kFault, absl::StrCat("exit status ", kExitStatusFault,
                                 " (guest fault) without a FAULT line (", LastCaseText(log), ")")};
  }
  if (!log.closing) {
    return {kFail, WithLastStderr(absl::StrCat(StatusText(outcome), " without closing line (",
                                               LastCaseText(log), ")"),
                                  outcome)};
  }
  if (log.closing_lines > 1) {
    return {kFail, absl::StrCat(log.closing_lines, " closing lines")};
  }
  if (log.cases_after_closing > 0) {
    return {kFail, absl::StrCat(log.cases_after_closing, " case lines after the closing line")};
  }
  if (ClosingCounts seen = log.CountCases(); !(seen == *log.closing)) {
    return {kFail, absl::StrCat("closing line says ", CountsText(*log.closing),
                                " but the case lines say ", CountsText(seen))};
  }
  if (log.closing->failed > 0) {
    return {kFail, absl::StrCat(log.closing->failed, " failed; ", FirstFailureText(log))};
  }
  if (outcome.exit_status != kExitStatusPassed) {
    return {kFail,
            WithLastStderr(absl::StrCat(StatusText(outcome), " (expected ", kExitStatusPassed,
                                        ") although the closing line says 0 failed"),
                           outcome)};
  }
  if (!log.malformed_clock_lines.empty()) {
    return {kFail, absl::StrCat(log.malformed_clock_lines.size(),
                                " clock line(s) without a decimal ns= value (first: \"clock: ",
                                log.malformed_clock_lines.front(), "\")")};
  }
  if (std::optional<ClockRate> rate = MeasureClockRate(log); rate && rate->GrosslyWrong()) {
    return {kFail, absl::StrFormat("guest clock ran %+.0f ppm against the host's over %.1f s "
                                   "(limit %.0f ppm)",
                                   rate->error_ppm, rate->host_seconds, kClockRateLimitPpm)};
  }
  return {kPass, ""};
}

}  // namespace pvops_run
