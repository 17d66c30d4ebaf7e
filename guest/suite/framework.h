/* SPDX-License-Identifier: MIT */
// The conformance suite's framework: a case is a name and a function returning a Result; the
// list is one constexpr array (registry.cc), filtered by `test=` and reported as TAP lines
// (docs/guest-protocol.md). A case records its checks with Check() and friends (report.h).
// No registration by static constructors: the kernel has none.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/cmdline.h"
#include "suite/report.h"

namespace guest::suite {

using CaseFn = Result (*)();

struct Case {
  const char* name;  // stable: the runner's matrix is keyed by it
  CaseFn run;
};

// Prints a `# ` comment line on behalf of the running case (measurements, diagnostics).
[[gnu::format(printf, 1, 2)]] void Note(const char* format, ...);

// The options the kernel parsed, for cases that depend on the command line.
const Options& SuiteOptions();

struct Summary {
  uint32_t passed;
  uint32_t failed;
  uint32_t skipped;
};

// Runs every case the options select, in list order, printing one TAP line each. Does not
// print the closing line (the kernel prints counters before it).
Summary RunSuite(const Case* cases, size_t count, const Options& options);

// The suite's single list (registry.cc).
extern const Case kCases[];
extern const size_t kCaseCount;

}  // namespace guest::suite
