/* SPDX-License-Identifier: MIT */
// Runs one child process in its own session and process group, hands its output over line by
// line, and ends it (the whole group, and nothing else) when its time is up. Never blocks forever:
// a child that closes its output but keeps running, or writes without end, still meets the clock.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pvops_run {

enum class OutputStream { kStdout, kStderr };

struct ChildSpec {
  std::vector<std::string> argv;  // argv[0] is the program (a path, or looked up in PATH)
  std::string working_directory;  // empty: the runner's own
  double timeout_seconds = 60;
  double kill_grace_seconds = 2;        // SIGTERM first, SIGKILL this much later
  double drain_after_exit_seconds = 1;  // output still wanted after the child exits
};

struct ChildOutcome {
  std::string start_error;  // non-empty: exec failed (the child never ran)
  bool timed_out = false;
  bool interrupted = false;  // RequestInterrupt() was called while it ran
  std::optional<int> exit_status;
  std::optional<int> term_signal;
  double wall_seconds = 0;
};

// Called once per complete line (without '\n'); a line longer than 64 KiB is cut into pieces.
using LineSink = std::function<void(OutputStream stream, std::string_view line)>;

ChildOutcome RunChild(const ChildSpec& spec, const LineSink& sink);

// Async-signal-safe: asks the running RunChild (and later ones) to end their child and return.
void RequestInterrupt();
bool InterruptRequested();

}  // namespace pvops_run
