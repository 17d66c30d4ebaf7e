#include "clock_rate.h"

#include <time.h>

#include "absl/strings/str_format.h"

namespace pvops_run {

std::optional<ClockRate> MeasureClockRate(const GuestLog& log) {
  if (log.clock_lines.size() < 2) return std::nullopt;
  const ClockLine& first = log.clock_lines.front();
  const ClockLine& last = log.clock_lines.back();
  if (!first.host_ns || !last.host_ns || *last.host_ns <= *first.host_ns) return std::nullopt;
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
