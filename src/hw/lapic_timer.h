/* SPDX-License-Identifier: MIT */
// The LAPIC timer as a one-shot deadline timer: TSC-deadline mode when the CPU has it, else
// one-shot mode with a count from the calibrated APIC timer rate.
#pragma once

#include <stdint.h>

#include <pvops/pvops.h>

namespace pvops::hw {

// The table's timer_oneshot on this CPU's LAPIC timer; deadline_ns == 0 disarms it.
[[nodiscard]] pvops_status LapicTimerOneshot(uint64_t deadline_ns, uint8_t vector);

// The LAPIC timer's input clock in Hz (before the divider): CPUID 0x15's crystal when it is
// enumerated, else measured against the TSC on first use. 0 when neither works.
uint64_t ApicTimerHz();

// Forgets the cached CPUID bits and the measured rate (SetUpSharedState).
void ForgetTimerState();

inline constexpr uint64_t kApicTimerCalibrationNs = 10'000'000;  // 10 ms
inline constexpr uint64_t kMinApicTimerHz = 1'000'000;
inline constexpr uint64_t kMaxApicTimerHz = 10'000'000'000;

}  // namespace pvops::hw
