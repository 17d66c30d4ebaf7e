// SPDX-License-Identifier: MIT
// clock_ns and tsc_khz on the bare TSC.
#include "hw/tsc.h"

#include "arch/x86/arch.h"
#include "core/backend.h"  // PVOPS_BOOT_CODE
#include "core/reason.h"
#include "core/tsc_clock.h"
#include "hw/acpi_pm_timer.h"
#include "hw/tsc_calibration.h"

namespace pvops::hw {
namespace {

struct ClockState {
  core::TscScale scale;  // mult == 0: not calibrated yet
  TscSource source;
  TscMeasurement measured;  // when source is a counter
};
ClockState g_clock;
// clock_ns never goes back, even across CPUs whose TSCs differ by a few ticks.
core::MonotonicClamp g_monotonic;

constexpr uint32_t kCpuid1EcxHypervisor = 1u << 31;
constexpr uint32_t kHypervisorBaseLeaf = 0x40000000;
constexpr uint32_t kTimingLeaf = 0x40000010;

uint32_t MaxBasicLeaf() { return arch::cpuid(0, 0).eax; }

// CPUID 0x15: TSC = crystal Hz (ECX) * numerator (EBX) / denominator (EAX); any zero means
// "not enumerated".
uint64_t TscKhzFromCpuid15() {
  if (MaxBasicLeaf() < 0x15) return 0;
  const pvops_cpuid_regs r = arch::cpuid(0x15, 0);
  if (r.eax == 0 || r.ebx == 0 || r.ecx == 0) return 0;
  const uint64_t khz = uint64_t{r.ecx} * r.ebx / r.eax / 1000;
  return core::SaneTscKhz(khz) ? khz : 0;
}

// The hypervisor timing leaf (VMware's, also offered by QEMU and ACRN): EAX is the TSC rate in
// kHz. Only where CPUID says a hypervisor is there and its block reaches that leaf.
uint64_t TscKhzFromTimingLeaf() {
  if ((arch::cpuid(1, 0).ecx & kCpuid1EcxHypervisor) == 0) return 0;
  const uint32_t max_leaf = arch::cpuid(kHypervisorBaseLeaf, 0).eax;
  if (max_leaf < kTimingLeaf || max_leaf > kHypervisorBaseLeaf + 0xff) return 0;
  const uint64_t khz = arch::cpuid(kTimingLeaf, 0).eax;
  return core::SaneTscKhz(khz) ? khz : 0;
}

// CPUID 0x16 EAX[15:0]: base frequency in MHz, which the TSC runs at on CPUs that report it.
uint64_t TscKhzFromCpuid16() {
  if (MaxBasicLeaf() < 0x16) return 0;
  const uint64_t khz = uint64_t{arch::cpuid(0x16, 0).eax & 0xffff} * 1000;
  return core::SaneTscKhz(khz) ? khz : 0;
}

}  // namespace

PVOPS_BOOT_CODE void CalibrateClock() {
  ClockState c{};
  uint64_t khz;
  PmTimerPort pm_timer;
  if ((khz = TscKhzFromCpuid15()) != 0) {
    c.source = TscSource::kCpuid15;
  } else if ((khz = TscKhzFromTimingLeaf()) != 0) {
    c.source = TscSource::kTimingLeaf;
  } else if ((khz = TscKhzFromCpuid16()) != 0) {
    c.source = TscSource::kCpuid16;
  } else if (FindPmTimer(&pm_timer) == PVOPS_OK &&
             (c.measured = MeasureTscAgainstPmTimer(pm_timer)).khz != 0) {
    khz = c.measured.khz;
    c.source = TscSource::kPmTimer;
  } else if ((c.measured = MeasureTscAgainstPit()).khz != 0) {
    khz = c.measured.khz;
    c.source = TscSource::kPit;
  } else {
    c.source = TscSource::kNone;
  }
  // Unknown frequency: TscScale counts ticks as nanoseconds, so the clock still moves forward.
  c.scale = core::TscScale::ForKhz(khz);
  g_clock = c;
  g_monotonic.Reset();
}

TscSource ClockSource() { return g_clock.source; }
TscMeasurement ClockMeasurement() { return g_clock.measured; }

const char* TscSourceName(TscSource source) {
  switch (source) {
    case TscSource::kNone: return "none";
    case TscSource::kCpuid15: return "CPUID 0x15";
    case TscSource::kTimingLeaf: return "CPUID 0x40000010";
    case TscSource::kCpuid16: return "CPUID 0x16";
    case TscSource::kPmTimer: return "the ACPI PM timer";
    case TscSource::kPit: return "the PIT";
  }
  return "?";
}

void ForgetClockCalibration() {
  g_clock = ClockState{};
  g_monotonic.Reset();
}

PVOPS_BOOT_CODE void NoteClockCalibration(core::BackendReport* report) {
  if (g_clock.scale.mult == 0) CalibrateClock();
  // A rate the CPU states is not news; a measured one, or none, is.
  const TscSource s = g_clock.source;
  if (s == TscSource::kCpuid15 || s == TscSource::kTimingLeaf || s == TscSource::kCpuid16) return;
  core::Reason note = report->Note();
  note.Add("tsc ").AddDec(g_clock.scale.khz).Add(" kHz from ").Add(TscSourceName(g_clock.source));
  if (g_clock.measured.khz != 0)
    note.Add(" +-")
        .AddDec(g_clock.measured.bound_ppm)
        .Add(" ppm/")
        .AddDec(g_clock.measured.window_us / 1000)
        .Add(" ms");
  if (g_clock.measured.attempts > 1)
    note.Add(", ").AddDec(g_clock.measured.attempts).Add(" windows measured");
}

uint64_t TscKhz() {
  if (g_clock.scale.mult == 0) CalibrateClock();
  return g_clock.scale.khz;
}

uint64_t TscClockNs() {
  if (g_clock.scale.mult == 0) CalibrateClock();
  return g_monotonic.Clamp(g_clock.scale.ToNs(arch::rdtsc()));
}

}  // namespace pvops::hw
