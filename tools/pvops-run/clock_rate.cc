// SPDX-License-Identifier: MIT
#include "clock_rate.h"

#include <time.h>

#include <vector>

#include "absl/strings/str_format.h"

namespace pvops_run {

namespace {

// The line of `lines` that reached the runner with the least delay: a line can only come late
// (serial, QEMU's main loop, the pipe), so the smallest host stamp minus guest clock is the one
// closest to when the guest printed it. Over a short stretch of the run, a wrong rate shifts
// that difference by far less than a delayed line does.
const ClockLine* LeastDelayed(const std::vector<const ClockLine*>& lines) {
  const ClockLine* best = nullptr;
  std::int64_t best_lag = 0;
  for (const ClockLine* line : lines) {
    const std::int64_t lag = *line->host_ns - static_cast<std::int64_t>(line->guest_ns);
    if (best == nullptr || lag < best_lag) {
      best = line;
      best_lag = lag;
    }
  }
  return best;
}

}  // namespace

std::optional<ClockRate> MeasureClockRate(const GuestLog& log) {
  std::vector<const ClockLine*> stamped;
  for (const ClockLine& line : log.clock_lines)
    if (line.host_ns) stamped.push_back(&line);
  if (stamped.size() < 2) return std::nullopt;
  const std::int64_t host_start = *stamped.front()->host_ns;
  const std::int64_t host_span = *stamped.back()->host_ns - host_start;
  if (host_span <= 0) return std::nullopt;
  // One end from the first quarter of the run, the other from the last: each the line the
  // serial path delayed least.
  std::vector<const ClockLine*> early, late;
  for (const ClockLine* line : stamped) {
    const std::int64_t at = *line->host_ns - host_start;
    if (at <= host_span / kClockRateEndFraction) early.push_back(line);
    if (at >= host_span - host_span / kClockRateEndFraction) late.push_back(line);
  }
  const ClockLine& first = *LeastDelayed(early);
  const ClockLine& last = *LeastDelayed(late);
  if (*last.host_ns <= *first.host_ns) return std::nullopt;
  // Signed, so a guest clock that went back shows as such instead of wrapping.
  const auto guest_delta_ns = static_cast<std::int64_t>(last.guest_ns - first.guest_ns);
  const std::int64_t host_delta_ns = *last.host_ns - *first.host_ns;
  ClockRate rate;
  rate.guest_seconds = static_cast<double>(guest_delta_ns) / 1e9;
  rate.host_seconds = static_cast<double>(host_delta_ns) / 1e9;
  rate.error_ppm = static_cast<double>(guest_delta_ns - host_delta_ns) /
                   static_cast<double>(host_delta_ns) * 1e6;
  return rate;
}

std::string ClockRateText(const ClockRate& rate) {
  return absl::StrFormat("clock vs host: %+.0f ppm over %.1f s%s", rate.error_ppm,
                         rate.host_seconds, rate.Judged() ? "" : " (too short to judge)");
}

std::int64_t HostMonotonicNs() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

}  // namespace pvops_run
