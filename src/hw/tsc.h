/* SPDX-License-Identifier: MIT */
// The TSC as a clock: its frequency as CPUID states it or measured against a counter
// that runs on real time (tsc_calibration.h), and the fixed-point scale that turns ticks into
// nanoseconds.
#pragma once

#include <stdint.h>

#include <pvops/pvops.h>

#include "core/backend.h"
#include "hw/tsc_calibration.h"

namespace pvops::hw {

// Where tsc_khz came from, best first.
enum class TscSource : uint32_t {
  kNone,        // nothing usable: tsc_khz is 0 and clock_ns counts ticks as nanoseconds
  kCpuid15,     // CPUID 0x15: crystal frequency times the TSC/crystal ratio
  kTimingLeaf,  // CPUID 0x40000010: the hypervisor's stated TSC rate
  kCpuid16,     // CPUID 0x16: the processor base frequency
  kPmTimer,     // measured against the ACPI PM timer the FADT describes
  kPit,         // measured against PIT channel 2
};

// The table's clock_ns and tsc_khz on the bare TSC; the first call calibrates.
uint64_t TscClockNs();
uint64_t TscKhz();

// Finds the TSC frequency and computes the scale. Runs once (pvops_init, or the first clock
// read before it); later calls redo it, for the boot CPU before other CPUs run.
void CalibrateClock();
TscSource ClockSource();
const char* TscSourceName(TscSource source);
// The measurement behind a kPmTimer or kPit rate (zero otherwise).
TscMeasurement ClockMeasurement();
// Adds a measured rate (where from, its error bound), or its absence, to the report's notes.
void NoteClockCalibration(core::BackendReport* report);
// The next clock read calibrates again.
void ForgetClockCalibration();

// Ticks of a `khz` clock in `ns` nanoseconds, without 128-bit division (no compiler helper
// calls in the freestanding archive).
constexpr uint64_t NsToTicks(uint64_t ns, uint64_t khz) {
  return ns / 1'000'000 * khz + ns % 1'000'000 * khz / 1'000'000;
}

}  // namespace pvops::hw
