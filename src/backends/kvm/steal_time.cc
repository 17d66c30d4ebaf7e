// SPDX-License-Identifier: MIT
// Steal time: how long each vCPU waited for a physical CPU, and whether it is descheduled right
// now. The "preempted" byte is what lets a remote TLB flush skip a vCPU that is not running:
// KVM flushes it on its next entry when we set KVM_VCPU_FLUSH_TLB instead of sending an IPI.
#include "backends/kvm/kvm.h"
#include "core/backend.h"

namespace pvops::kvm {

[[nodiscard]] PVOPS_BOOT_CODE pvops_status EnableStealTimeOn(uint32_t, CpuPart& part) {
  volatile kvm_steal_time& st = part.steal;
  // The first registration starts from zero: a stale "preempted" byte would make a TLB flush
  // skip a running vCPU. A repeated one (the CPU's set-up run again) keeps the count, which
  // KVM goes on adding to: a kernel's steal clock must never go back.
  if (part.steal_registered == 0) {
    st.steal = 0;
    st.version = 0;
    st.preempted = 0;
  }
  const uint64_t pa = core::VirtToPhys(&part.steal);
  if ((pa & 63) != 0) return PVOPS_ERR_INVALID;
  if (!arch::wrmsr_safe(MSR_KVM_STEAL_TIME, pa | KVM_MSR_ENABLED)) return PVOPS_ERR_FAULT;
  part.steal_registered = 1;
  return PVOPS_OK;
}

uint64_t StealNs(uint32_t cpu) {
  const CpuPart* part = Part(cpu);
  if (part == nullptr) return 0;
  const volatile kvm_steal_time& st = part->steal;
  for (int tries = 0; tries < 1000; ++tries) {
    const uint32_t version = st.version;
    __atomic_signal_fence(__ATOMIC_ACQUIRE);
    const uint64_t steal = st.steal;
    __atomic_signal_fence(__ATOMIC_ACQUIRE);
    if ((version & 1) == 0 && version == st.version) return steal;
  }
  return 0;  // KVM kept it mid-update for 1000 reads: report nothing rather than a torn value
}

int VcpuIsPreempted(uint32_t cpu) {
  CpuPart* part = Part(cpu);
  if (part == nullptr) return 0;
  return (__atomic_load_n(&part->steal.preempted, __ATOMIC_RELAXED) & KVM_VCPU_PREEMPTED) != 0;
}

[[nodiscard]] pvops_status FlushTlbRemote(pvops_cpuset* cpus, uint64_t, uint64_t) {
  if (cpus == nullptr) return PVOPS_ERR_INVALID;
  core::Count(core::Counter::kTlbFlushRemoteCalls);
  const uint32_t self = core::ThisCpu();
  for (uint32_t cpu = 0; cpu < PVOPS_MAX_CPUS; ++cpu) {
    if (cpu == self || !pvops_cpuset_has(cpus, cpu) || core::Cpu(cpu).online == 0) continue;
    uint8_t* preempted = &Part(cpu)->steal.preempted;  // online: it has its area
    uint8_t state = __atomic_load_n(preempted, __ATOMIC_RELAXED);
    if ((state & KVM_VCPU_PREEMPTED) == 0) continue;
    // Only if the vCPU is still preempted when the flag lands: otherwise it may be running with
    // the stale entry and needs the IPI after all.
    if (__atomic_compare_exchange_n(preempted, &state,
                                    static_cast<uint8_t>(state | KVM_VCPU_FLUSH_TLB), false,
                                    __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
      pvops_cpuset_remove(cpus, cpu);
      core::Count(core::Counter::kTlbFlushPreemptedSkipped);
    }
  }
  return PVOPS_OK;
}

}  // namespace pvops::kvm
