/* SPDX-License-Identifier: MIT */
// KVM's paravirtual interface, shared by the files of this backend. ABI constants come from the
// kernel's uapi headers (linux/kvm_para.h), never retyped.
#pragma once

#include <linux/kvm_para.h>
#include <stdint.h>

#include <pvops/pvops.h>

#include "arch/x86/arch.h"
#include "backends/kvm/kvm_backend.h"
#include "core/runtime.h"
#include "core/xen_public.h"  // vcpu_time_info: kvmclock uses Xen's pvclock layout

namespace pvops::kvm {

// What init found and turned on; read-only after pvops_init.
struct State {
  uint32_t base_leaf;
  uint32_t features;  // CPUID base+1 EAX: KVM_FEATURE_* bits
  uint32_t hints;     // CPUID base+1 EDX: KVM_HINTS_* bits
  uint32_t enabled;   // the KVM_FEATURE_* bits whose paths this backend uses
  arch::HypercallInsn insn;
};
extern State g_state;

inline bool Enabled(uint32_t feature_bit) { return (g_state.enabled >> feature_bit) & 1u; }

// KVM's wall-clock record (struct pvclock_wall_clock in the kernel; not in the uapi headers).
struct WallClockRecord {
  uint32_t version;
  uint32_t sec;
  uint32_t nsec;
} __attribute__((packed));

// `cpu`'s part of its area; nullptr when the CPU has none.
CpuPart* Part(uint32_t cpu);
// The running CPU's part (core::ThisArea).
CpuPart& ThisPart();

// The boot CPU's kvmclock tuple, alone at the start of a page of the library's: a kernel maps
// that page into every process for its vDSO, so nothing but the tuple may share it.
struct alignas(PVOPS_PAGE_SIZE) BootClockPage {
  vcpu_time_info clock;
};
extern BootClockPage g_boot_clock;

// `cpu`'s kvmclock tuple (nullptr without an area): the boot CPU's page, the others' parts.
inline vcpu_time_info* Clock(uint32_t cpu) {
  if (cpu == 0) return &g_boot_clock.clock;
  CpuPart* part = Part(cpu);
  return part != nullptr ? &part->clock : nullptr;
}
// The running CPU's; a CPU without an area, or whose registration failed, reads the boot
// CPU's (the per-CPU rule, core/backend.h).
vcpu_time_info& ThisClock();

// KVM's hypercall ABI: nr in rax, arguments in rbx, rcx, rdx, rsi, result in rax.
inline int64_t HypercallWith(arch::HypercallInsn insn, uint64_t nr, uint64_t a0, uint64_t a1,
                             uint64_t a2, uint64_t a3) {
  arch::HypercallRegs r{};
  r.rax = nr;
  r.rbx = a0;
  r.rcx = a1;
  r.rdx = a2;
  r.rsi = a3;
  arch::hypercall(insn, r);
  core::Count(core::Counter::kHypercalls);
  return static_cast<int64_t>(r.rax);
}
inline int64_t Hypercall(uint64_t nr, uint64_t a0 = 0, uint64_t a1 = 0, uint64_t a2 = 0,
                         uint64_t a3 = 0) {
  return HypercallWith(g_state.insn, nr, a0, a1, a2, a3);
}

// kvmclock (kvmclock.cc).
// Registering an area on `cpu` (the running CPU), whose part of its area is `part`.
using EnableOnFn = pvops_status(uint32_t cpu, CpuPart& part);
EnableOnFn EnableClockOn;  // registers the tuple; validates it
uint64_t ClockNs();
uint64_t TscKhz();
[[nodiscard]] pvops_status WallClock(pvops_wall_clock* out);

// Steal time, preemption and what it enables (steal_time.cc).
EnableOnFn EnableStealTimeOn;
uint64_t StealNs(uint32_t cpu);
int VcpuIsPreempted(uint32_t cpu);
// Flags preempted vCPUs to flush on their next entry and takes them out of *cpus.
[[nodiscard]] pvops_status FlushTlbRemote(pvops_cpuset* cpus, uint64_t start, uint64_t end);

// Interrupts (kvm_irq.cc).
EnableOnFn EnablePvEoiOn;
void Eoi();
[[nodiscard]] pvops_status SendIpi(const pvops_cpuset* cpus, uint8_t vector);

// PV spinlocks (kvm_lock.cc).
void LockWait(const volatile uint8_t* ptr, uint8_t value);
void LockKick(uint32_t cpu);

}  // namespace pvops::kvm
