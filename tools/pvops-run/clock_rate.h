/* SPDX-License-Identifier: MIT */
// The guest clock's rate against the host's: the guest prints its clock at the start, after
// every case and at the end of its run (`clock: ns=N`), the runner stamps each such line with
// CLOCK_MONOTONIC as it reads it, and the differences between two lines compare. A line can
// reach the runner late (by tens of ms on a busy host), so each end of the comparison is the
// least delayed line of that end of the run. Still a coarse check, for a clock grossly off; the
// guest's time.reference case is the fine one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "guest_log.h"

namespace pvops_run {

// Worse than this (either way) fails the run...
inline constexpr double kClockRateLimitPpm = 10'000;
// ...but only over at least this much host time between the two lines: shorter runs are
// reported, not judged (a few ms of serial jitter would be too large a share of them).
inline constexpr double kClockRateMinHostSeconds = 1.0;
// Each end of the comparison is chosen from this fraction (1/N) of the run's host time.
inline constexpr std::int64_t kClockRateEndFraction = 4;

struct ClockRate {
  double guest_seconds = 0;
  double host_seconds = 0;
  double error_ppm = 0;  // (guest - host) / host; positive when the guest's clock runs fast

  bool Judged() const { return host_seconds >= kClockRateMinHostSeconds; }
  bool GrosslyWrong() const {
    return Judged() && (error_ppm > kClockRateLimitPpm || error_ppm < -kClockRateLimitPpm);
  }
};

// Between the least delayed line of the run's first quarter and that of its last quarter (the
// first and the last line when there are only two), when the host's time moved between them;
// nullopt otherwise (fewer than two stamped lines, an old guest, a crashed run).
std::optional<ClockRate> MeasureClockRate(const GuestLog& log);

// "clock vs host: +123 ppm over 4.2 s", with " (too short to judge)" when it is.
std::string ClockRateText(const ClockRate& rate);

// The host's CLOCK_MONOTONIC now, in nanoseconds: what clock lines are stamped with.
std::int64_t HostMonotonicNs();

}  // namespace pvops_run
