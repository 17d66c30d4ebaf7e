// SPDX-License-Identifier: MIT
// Suspend (core/move.cc): every MSR that points KVM at guest memory is switched off on its own
// vCPU, so nothing more is written there; a later cpu_init registers afresh. The wall-clock MSR
// is a one-time write and async PF is never enabled: nothing VM-wide is held.
#include "backends/kvm/kvm.h"
#include "core/move.h"

namespace pvops::kvm {
namespace {

// Off only where this vCPU took it: KVM faults an MSR its CPUID withholds, and a vCPU that
// refused a feature at cpu_init may refuse its release too.
bool Off(uint32_t msr, uint32_t feature_bit, uint32_t registered, core::Reason* why) {
  return ((registered >> feature_bit) & 1u) == 0 || core::ReleaseMsr(msr, why);
}

}  // namespace

[[nodiscard]] pvops_status ReleaseCpu(uint32_t cpu, core::Reason* why) {
  CpuPart* part = Part(cpu);
  uint32_t registered = 0;
  if (part != nullptr) {
    registered = part->registered;
    part->steal_registered = 0;
    part->registered = 0;
  }
  const bool clock = Off(MSR_KVM_SYSTEM_TIME_NEW, KVM_FEATURE_CLOCKSOURCE2, registered, why);
  const bool steal = Off(MSR_KVM_STEAL_TIME, KVM_FEATURE_STEAL_TIME, registered, why);
  const bool eoi = Off(MSR_KVM_PV_EOI_EN, KVM_FEATURE_PV_EOI, registered, why);
  return clock && steal && eoi ? PVOPS_OK : PVOPS_ERR_FAULT;
}

}  // namespace pvops::kvm
