// SPDX-License-Identifier: MIT
// One-shot timers on synthetic timer 0 in direct mode: the expiry is an absolute reference time
// (the same clock clock_ns reads), and the interrupt arrives as a plain APIC vector, so no
// SynIC message page is involved. Config carries auto-enable: each COUNT write arms the timer,
// a COUNT of 0 disarms it; the config is written again only when the vector changes.
#include "arch/x86/arch.h"
#include "backends/hyperv/hyperv.h"
#include "core/move.h"
#include "core/oneshot.h"
#include "core/runtime.h"
#include "hw/lapic_timer.h"

namespace pvops::hyperv {
namespace {

constexpr uint8_t kFirstExternalVector = 32;

uint64_t DirectConfig(uint8_t vector) {
  return kStimerDirectMode | kStimerAutoEnable | uint64_t{vector} << kStimerVectorShift;
}

// Rounded up: a timer never fires before its deadline. Never 0, which would disarm.
uint64_t CountFor(uint64_t deadline_ns) {
  const uint64_t count = (deadline_ns + kReferenceTimeUnitNs - 1) / kReferenceTimeUnitNs;
  return count != 0 ? count : 1;
}

}  // namespace

[[nodiscard]] pvops_status CheckStimerOn(uint32_t cpu) {
  CpuPart* c = Part(cpu);
  if (c == nullptr) return PVOPS_ERR_NO_CPU_AREA;
  c->stimer_ready = 0;
  c->stimer_config = 0;
  // KVM refuses the timer MSRs on a vCPU without an active SynIC: find out before relying on it.
  if (!arch::wrmsr_safe(kMsrStimer0Config, 0) || !arch::wrmsr_safe(kMsrStimer0Count, 0))
    return PVOPS_ERR_FAULT;
  c->stimer_ready = 1;
  return PVOPS_OK;
}

[[nodiscard]] pvops_status TimerOneshot(uint64_t deadline_ns, uint8_t vector) {
  if (vector < kFirstExternalVector) return PVOPS_ERR_INVALID;
  CpuPart& here = ThisPart();
  if (here.stimer_ready == 0) return hw::LapicTimerOneshot(deadline_ns, vector);
  // KVM's stimer expires by the host's time, which the TSC page only approximates.
  core::OneshotArmed(deadline_ns, vector);
  if (deadline_ns == 0) {
    arch::wrmsr(kMsrStimer0Count, 0);
    return PVOPS_OK;
  }
  const uint64_t config = DirectConfig(vector);
  if (here.stimer_config != config) {
    arch::wrmsr(kMsrStimer0Config, config);
    here.stimer_config = config;
  }
  arch::wrmsr(kMsrStimer0Count, CountFor(core::BackendTimeNs(deadline_ns)));
  core::Count(core::Counter::kTimerArms);
  return PVOPS_OK;
}

}  // namespace pvops::hyperv
