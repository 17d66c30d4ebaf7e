/* SPDX-License-Identifier: MIT */
// One environment, start to verdict: envs/<name>/setup (if any), then envs/<name>/launch with the
// image, the guest's lines parsed as they arrive, a progress line on the console.
#pragma once

#include <deque>
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "guest_log.h"
#include "verdict.h"

namespace pvops_run {

struct EnvironmentRequest {
  std::string name;
  std::filesystem::path root;  // the repository: envs/<name>/ lives here
  std::filesystem::path image;
  std::string cmdline;
  double timeout_seconds = 120;
  double setup_timeout_seconds = 900;
  double kill_grace_seconds = 2;
  // When set, the launch's whole console goes to <console_dir>/<name>.log (the evidence a failed
  // CI run would otherwise keep only 20 lines of).
  std::filesystem::path console_dir;
};

struct ProgressOptions {
  std::ostream* out = nullptr;
  bool rewrite_in_place = false;  // a terminal: one line per environment, updated as cases arrive
  bool verbose = false;           // echo the raw console
};

struct EnvironmentResult {
  std::string name;
  GuestLog log;
  LaunchOutcome outcome;
  VerdictWithReason verdict;
  double wall_seconds = 0;               // of the launch (setup not included)
  std::deque<std::string> console_tail;  // the last lines, shown when the run fails
  std::filesystem::path console_log;     // the whole console, when asked for
};

EnvironmentResult RunEnvironment(const EnvironmentRequest& request,
                                 const ProgressOptions& progress);

std::filesystem::path LauncherPath(const std::filesystem::path& root, const std::string& name);

// The environments, in the order `--env=all` runs them: every envs/<name>/launch under `root`,
// the main ones first in a fixed order (environment_run.cc), then the variants (kvm-nopv, ...)
// by name. The project's one list of environments: ./pvops and the ctest environment tests ask
// for it with `pvops-run --list_envs`.
std::vector<std::string> ListEnvironments(const std::filesystem::path& root);

}  // namespace pvops_run
