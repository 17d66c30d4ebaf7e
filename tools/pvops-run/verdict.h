/* SPDX-License-Identifier: MIT */
// The verdict of one environment run: the launcher's outcome plus what the guest said
// (docs/guest-protocol.md, "The runner's verdict").
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "guest_log.h"

namespace pvops_run {

// QEMU's isa-debug-exit status for the guest's exit codes 0x10/0x11/0x12: (code << 1) | 1.
inline constexpr int kExitStatusPassed = 33;
inline constexpr int kExitStatusFailed = 35;
inline constexpr int kExitStatusFault = 37;

enum class Verdict { kPass, kFail, kFault, kTimeout };

std::string_view VerdictName(Verdict verdict);  // "pass", "fail", "fault", "timeout"
std::optional<Verdict> ParseVerdictName(std::string_view name);

// How the environment's processes ended, as seen from outside.
struct LaunchOutcome {
  std::string start_error;  // non-empty: the environment never ran (launcher missing, setup failed)
  bool interrupted = false;  // the runner itself was told to stop
  bool timed_out = false;
  double timeout_seconds = 0;
  std::optional<int> exit_status;
  std::optional<int> term_signal;
  std::string last_stderr_line;  // the launcher's last complaint, for the reason
};

struct VerdictWithReason {
  Verdict verdict = Verdict::kFail;
  std::string reason;  // one line; empty for a pass
};

VerdictWithReason DecideVerdict(const LaunchOutcome& outcome, const GuestLog& log);

}  // namespace pvops_run
