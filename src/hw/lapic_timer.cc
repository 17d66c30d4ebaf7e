// SPDX-License-Identifier: MIT
#include "hw/lapic_timer.h"

#include "arch/x86/arch.h"
#include "core/oneshot.h"
#include "core/runtime.h"
#include "hw/lapic.h"
#include "hw/tsc.h"

namespace pvops::hw {
namespace {

constexpr uint32_t kCpuid1EcxTscDeadline = 1u << 24;

// CPUID.1:ECX[24], cached: 0 = not read yet, else kAbsent or kPresent.
constexpr uint32_t kDeadlineUnknown = 0;
constexpr uint32_t kDeadlineAbsent = 1;
constexpr uint32_t kDeadlinePresent = 2;
uint32_t g_tsc_deadline;
uint64_t g_apic_timer_hz;

bool HasTscDeadline() {
  uint32_t s = __atomic_load_n(&g_tsc_deadline, __ATOMIC_RELAXED);
  if (s == kDeadlineUnknown) {
    s = (arch::cpuid(1, 0).ecx & kCpuid1EcxTscDeadline) != 0 ? kDeadlinePresent : kDeadlineAbsent;
    __atomic_store_n(&g_tsc_deadline, s, __ATOMIC_RELAXED);
  }
  return s == kDeadlinePresent;
}

bool SaneApicHz(uint64_t hz) { return hz >= kMinApicTimerHz && hz <= kMaxApicTimerHz; }

// Counts the timer down from the top for a fixed TSC interval, masked so nothing fires.
uint64_t MeasureApicTimerHz(const Lapic& apic) {
  const uint64_t tsc_khz = pvops_tsc_khz();
  if (tsc_khz == 0) return 0;
  const uint64_t interval = NsToTicks(kApicTimerCalibrationNs, tsc_khz);
  apic.Write(ApicReg::kLvtTimer, kLvtMasked | kLvtTimerOneShot);
  apic.Write(ApicReg::kTimerDivide, kTimerDivideBy1);
  apic.Write(ApicReg::kTimerInitialCount, 0xffffffff);
  const uint64_t tsc_start = arch::rdtsc();
  const uint32_t count_start = apic.Read(ApicReg::kTimerCurrentCount);
  uint64_t tsc_end;
  while ((tsc_end = arch::rdtsc()) - tsc_start < interval) arch::pause();
  const uint32_t count_end = apic.Read(ApicReg::kTimerCurrentCount);
  apic.Write(ApicReg::kTimerInitialCount, 0);
  // A count that did not move, or ran out (wrapped to 0), measures nothing.
  if (count_end >= count_start || count_end == 0) return 0;
  const uint64_t hz = uint64_t{count_start - count_end} * tsc_khz * 1000 / (tsc_end - tsc_start);
  return SaneApicHz(hz) ? hz : 0;
}

uint64_t CrystalHzFromCpuid15() {
  if (arch::cpuid(0, 0).eax < 0x15) return 0;
  const uint64_t hz = arch::cpuid(0x15, 0).ecx;
  return SaneApicHz(hz) ? hz : 0;
}

// Divide configuration encodings for 1, 2, 4, ... 128 (SDM figure 10-10).
constexpr uint32_t kDivideCodes[] = {0xb, 0x0, 0x1, 0x2, 0x3, 0x8, 0x9, 0xa};

[[nodiscard]] pvops_status ArmTscDeadline(const Lapic& apic, uint64_t delta_ns, uint8_t vector) {
  const uint64_t tsc_khz = pvops_tsc_khz();
  if (tsc_khz == 0) return PVOPS_ERR_UNSUPPORTED;
  apic.Write(ApicReg::kLvtTimer, kLvtTimerTscDeadline | vector);
  // SDM 10.5.4.1: the LVT write must be ordered before the deadline MSR write.
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  // Rounded up by one tick so the interrupt never comes early; never 0, which would disarm.
  arch::wrmsr(X86_MSR_IA32_TSC_DEADLINE, arch::rdtsc() + NsToTicks(delta_ns, tsc_khz) + 1);
  return PVOPS_OK;
}

[[nodiscard]] pvops_status ArmOneShot(const Lapic& apic, uint64_t delta_ns, uint8_t vector) {
  const uint64_t hz = ApicTimerHz();
  if (hz == 0) return PVOPS_ERR_UNSUPPORTED;
  const uint64_t ticks = NsToTicks(delta_ns, hz / 1000) + 1;
  for (uint32_t shift = 0; shift < 8; ++shift) {
    const uint64_t count = (ticks + (uint64_t{1} << shift) - 1) >> shift;
    if (count > 0xffffffff) continue;
    apic.Write(ApicReg::kLvtTimer, kLvtTimerOneShot | vector);
    apic.Write(ApicReg::kTimerDivide, kDivideCodes[shift]);
    apic.Write(ApicReg::kTimerInitialCount, static_cast<uint32_t>(count));  // this write arms
    return PVOPS_OK;
  }
  return PVOPS_ERR_INVALID;  // farther away than 2^32 * 128 timer ticks
}

}  // namespace

uint64_t ApicTimerHz() {
  uint64_t hz = __atomic_load_n(&g_apic_timer_hz, __ATOMIC_RELAXED);
  if (hz != 0) return hz;
  hz = CrystalHzFromCpuid15();
  Lapic apic;
  if (hz == 0 && Lapic::Get(&apic) == PVOPS_OK) hz = MeasureApicTimerHz(apic);
  __atomic_store_n(&g_apic_timer_hz, hz, __ATOMIC_RELAXED);
  return hz;
}

void ForgetTimerState() {
  __atomic_store_n(&g_tsc_deadline, kDeadlineUnknown, __ATOMIC_RELAXED);
  __atomic_store_n(&g_apic_timer_hz, 0, __ATOMIC_RELAXED);
}

[[nodiscard]] pvops_status LapicTimerOneshot(uint64_t deadline_ns, uint8_t vector) {
  if (vector < kFirstExternalVector) return PVOPS_ERR_INVALID;
  Lapic apic;
  if (const pvops_status st = Lapic::Get(&apic); st != PVOPS_OK) return st;
  // The LAPIC timer counts real time, clock_ns a measured TSC: the core re-arms an early one.
  core::OneshotArmed(deadline_ns, vector);
  if (deadline_ns == 0) {
    apic.Write(ApicReg::kLvtTimer, kLvtMasked | vector);
    if (HasTscDeadline()) arch::wrmsr(X86_MSR_IA32_TSC_DEADLINE, 0);
    apic.Write(ApicReg::kTimerInitialCount, 0);
    return PVOPS_OK;
  }
  // The deadline is in the table's clock; only the distance to it is converted to ticks.
  const uint64_t now = pvops_clock_ns();
  const uint64_t delta_ns = deadline_ns > now ? deadline_ns - now : 0;
  const pvops_status st = HasTscDeadline() ? ArmTscDeadline(apic, delta_ns, vector)
                                           : ArmOneShot(apic, delta_ns, vector);
  if (st == PVOPS_OK) core::Count(core::Counter::kTimerArms);
  return st;
}

}  // namespace pvops::hw
