/* SPDX-License-Identifier: MIT */
// Measuring the TSC rate where nobody states it: against a counter that runs on real time by
// itself (the ACPI PM timer, PIT channel 2). Each reading of the counter is bracketed by two
// TSC reads; the counter latched somewhere inside the bracket, so the narrowest of a few
// readings is kept, and the window grows until the brackets and the counter's own tick add up
// to a small enough error. Under TCG or a hypervisor a port read can take microseconds (an
// exit): that costs a longer window, never a looser result.
#pragma once

#include <stdint.h>

#include "hw/acpi_pm_timer.h"

namespace pvops::hw {

struct TscMeasurement {
  uint64_t khz;        // 0: the counter did not count, or disagreed with itself every time
  uint32_t bound_ppm;  // worst-case error: the two brackets and one counter tick
  uint32_t window_us;  // measured by the counter
  uint32_t attempts;   // windows measured, the refused ones included
};

// Windows measured at most. A vCPU the host deschedules for longer than the counter's wrap
// (the PIT's is 55 ms) loses count, and the window's halves then disagree; the next window
// most likely runs undisturbed. A counter that misbehaves in every window is still refused.
inline constexpr uint32_t kCalibrationAttempts = 4;

// The error this aims for; a counter read slower than that allows in the longest window
// gives a larger bound, which the result reports.
inline constexpr uint32_t kCalibrationTargetPpm = 50;

TscMeasurement MeasureTscAgainstPmTimer(const PmTimerPort& timer);
// Programs channel 2 as a free-running rate generator and reads its latched count.
TscMeasurement MeasureTscAgainstPit();

}  // namespace pvops::hw
