// SPDX-License-Identifier: MIT
#include "suite/framework.h"

#include <pvops/pvops.hpp>

#include "kernel/console.h"
#include "kernel/format.h"
#include "kernel/percpu.h"
#include "kernel/smp.h"

namespace guest::suite {
namespace {

const Options* g_options;

// `debug.*` cases (a fault, a hang) run only when a pattern that itself starts with "debug."
// selects them: `test=*` must never end the run on purpose.
bool IsDebugCase(const char* name) {
  const char prefix[] = "debug.";
  for (size_t i = 0; i + 1 < sizeof(prefix); ++i)
    if (name[i] != prefix[i]) return false;
  return true;
}

bool Selected(const Case& c, const Options& options) {
  if (options.test_pattern_count == 0) return !IsDebugCase(c.name);
  for (uint32_t i = 0; i < options.test_pattern_count; ++i) {
    const char* pattern = options.test_patterns[i];
    if (!MatchesPattern(pattern, c.name)) continue;
    if (!IsDebugCase(c.name) || IsDebugCase(pattern)) return true;
  }
  return false;
}

// What a case may leave behind that would poison the next one; checked after every case.
const char* LeftoverProblem() {
  for (uint32_t cpu = 0; cpu < ExpectedCpus(); ++cpu)
    if (!CpuStackIntact(cpu)) return "a CPU stack overflowed into its base";
  for (uint32_t cpu = 1; cpu < ExpectedCpus(); ++cpu)
    if (CpuOnline(cpu) && !CpuIdle(cpu)) return "a secondary CPU is still running the case's work";
  return nullptr;
}

}  // namespace

void ReportLine(const char* text) { Print("%s\n", text); }

void Note(const char* format, ...) {
  char text[kMaxLineBytes - 4];
  va_list args;
  va_start(args, format);
  FormatV(text, sizeof(text), format, args);
  va_end(args);
  Print("# %s\n", text);
}

const Options& SuiteOptions() { return *g_options; }

Summary RunSuite(const Case* cases, size_t count, const Options& options) {
  g_options = &options;
  Summary summary{0, 0, 0};
  uint32_t number = 0;
  for (size_t i = 0; i < count; ++i) {
    const Case& c = cases[i];
    if (!Selected(c, options)) continue;
    ++number;
    pvops::IrqEnable();  // every case starts with interrupts on, on the boot CPU
    BeginCase(c.name);
    const Result result = EndCase(c.run());
    PrintCaseLine(number, c.name, result);
    switch (result.verdict()) {
      case Verdict::kPass: ++summary.passed; break;
      case Verdict::kFail: ++summary.failed; break;
      case Verdict::kSkip: ++summary.skipped; break;
    }
    if (const char* problem = LeftoverProblem()) Note("after %s: %s", c.name, problem);
    // Stamped by the runner as it arrives: its check of the clock's rate against the host's
    // picks the least delayed of these at each end of the run (docs/guest-protocol.md).
    Print("clock: ns=%lu\n", pvops::ClockNs());
  }
  if (number == 0) {
    // A filter that selects nothing is a mistake, not a pass.
    Print("not ok 1 suite.filter # no case matches the test= patterns\n");
    ++summary.failed;
  }
  return summary;
}

}  // namespace guest::suite
