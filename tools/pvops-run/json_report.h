/* SPDX-License-Identifier: MIT */
// The machine-readable record of a run (--json): per environment the verdict and its reason, the
// exit status, wall time, detect fields, every case, stats and bench lines.
#pragma once

#include <string>
#include <vector>

#include "environment_run.h"
#include "verdict.h"

namespace pvops_run {

struct RunSettings {
  std::string image;
  std::string cmdline;
  Verdict expect = Verdict::kPass;
  double timeout_seconds = 0;
};

std::string RenderJson(const RunSettings& settings, const std::vector<EnvironmentResult>& results);

}  // namespace pvops_run
