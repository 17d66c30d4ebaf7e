// SPDX-License-Identifier: MIT
// PV spinlocks on KVM: a waiter halts (no spinning on a vCPU that may have preempted the lock
// holder) and the unlocker wakes it with KVM_HC_KICK_CPU. KVM remembers a kick that arrives
// before the halt, so the halt then returns at once: no lost wake-up.
#include "arch/x86/registers.h"
#include "backends/kvm/kvm.h"
#include "hw/cpu_instructions.h"

namespace pvops::kvm {

void LockWait(const volatile uint8_t* ptr, uint8_t value) {
  core::Count(core::Counter::kLockWaits);
  const uint64_t flags = hw::SaveFlags();
  hw::IrqDisable();
  if (*ptr == value) {
    // With interrupts on before, sti;hlt keeps the wait interruptible; with them off, only the
    // kick (or an NMI) ends the halt, as the caller asked.
    if ((flags & X86_EFLAGS_IF) != 0)
      hw::SafeHalt();
    else
      hw::Halt();
  }
  hw::RestoreFlags(flags);
}

void LockKick(uint32_t cpu) {
  if (cpu >= PVOPS_MAX_CPUS || core::Cpu(cpu).online == 0) return;
  core::Count(core::Counter::kLockKicks);
  Hypercall(KVM_HC_KICK_CPU, 0, core::Cpu(cpu).apic_id);
}

}  // namespace pvops::kvm
