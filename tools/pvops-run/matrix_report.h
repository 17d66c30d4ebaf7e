/* SPDX-License-Identifier: MIT */
// The end-of-run report on the console: the case x environment matrix, each environment's detect
// line, stats and verdict, and the closing `N passed, N failed, N skipped` line.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "environment_run.h"
#include "guest_log.h"

namespace pvops_run {

// Case counts summed over environments. An environment that failed without a failing case line
// (timeout, fault, no closing line, could not start) counts as one failure, so a broken run can
// never end in "0 failed".
ClosingCounts SumCounts(const std::vector<EnvironmentResult>& results);

// Case names in first-seen order across environments.
std::vector<std::string> CaseNamesInOrder(const std::vector<EnvironmentResult>& results);

void PrintMatrix(const std::vector<EnvironmentResult>& results, std::ostream& out);

}  // namespace pvops_run
