// SPDX-License-Identifier: MIT
// The ops that natively have no hardware behind them: no hypervisor to call, no vCPU to be
// descheduled behind our back, no page-table update to batch or announce.
#include "arch/x86/arch.h"
#include "backends/native/native.h"
#include "core/runtime.h"

namespace pvops::native {

[[nodiscard]] pvops_status RegisterHandler(uint8_t vector, pvops_irq_handler handler, void* ctx) {
  return core::SetIrqHandler(vector, handler, ctx);
}

// The MMU needs no notice of new page tables natively.
[[nodiscard]] pvops_status AllocPt(uint64_t, uint32_t) { return PVOPS_OK; }
[[nodiscard]] pvops_status ReleasePt(uint64_t, uint32_t) { return PVOPS_OK; }
// No hypervisor flushes a CPU for us: every remote CPU is left for the shootdown IPIs.
[[nodiscard]] pvops_status FlushTlbRemote(pvops_cpuset*, uint64_t, uint64_t) { return PVOPS_OK; }
// Every update is applied when made: nothing to batch.
void LazyBegin() {}
void LazyFlush() {}
void LazyEnd() {}
uint64_t PhysToMachine(uint64_t phys) { return phys; }
uint64_t MachineToPhys(uint64_t machine) { return machine; }

uint64_t StealNs(uint32_t) { return 0; }  // nothing steals time from bare metal

// A spinlock waiter is never descheduled behind our back: waiting is one pause, and there is
// nobody to kick.
void LockWait(const volatile uint8_t*, uint8_t) { arch::pause(); }
void LockKick(uint32_t) {}
int VcpuIsPreempted(uint32_t) { return 0; }

[[nodiscard]] pvops_status Hypercall(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t,
                                     int64_t* result) {
  if (result != nullptr) *result = 0;
  return PVOPS_ERR_UNSUPPORTED;  // no hypervisor to call
}

}  // namespace pvops::native
