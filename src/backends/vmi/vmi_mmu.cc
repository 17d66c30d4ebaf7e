// SPDX-License-Identifier: MIT
// Paging through the ROM. Outside lazy mode each live update is one SetPxELong; inside it,
// updates wait in a small per-CPU queue and are issued (flagged DEFER, so a vendor's ROM may
// batch them further) at the next flush point: lazy_flush/lazy_end, which end with
// SetLazyMode(0), any TLB flush, or a full queue. Readers on the same CPU see queued values.
#include "backends/vmi/vmi.h"
#include "backends/vmi/vmi_calls.h"
#include "core/cpu_area.h"
#include "hw/paging.h"

namespace pvops::vmi {
namespace {

using LazyQueue = CpuPart;

LazyQueue& ThisCpuQueue() { return core::ThisArea().vmi; }

class InterruptsOff {
 public:
  InterruptsOff() : flags_(arch::save_flags()) { arch::cli(); }
  ~InterruptsOff() { arch::restore_flags(flags_); }
  InterruptsOff(const InterruptsOff&) = delete;
  InterruptsOff& operator=(const InterruptsOff&) = delete;

 private:
  uint64_t flags_;
};

void WriteEntry(pvops_pte* ptep, pvops_pte value, uint32_t flags, uint64_t va) {
  if (Provides(VMI_CALL_SetPxELong)) {
    CallRom(VMI_CALL_SetPxELong, value, reinterpret_cast<uintptr_t>(ptep), flags, va);
  } else {
    hw::SetPte(ptep, value);
  }
  core::Count(core::Counter::kPteUpdates);
}

// Issues every queued update of this CPU, oldest first (a later update of the same entry
// must win). Interrupts are off. Out of line: one copy for its four callers, each drain being
// a ROM call per update.
[[gnu::noinline]] void DrainQueue(LazyQueue& queue) {
  if (queue.count == 0) return;
  for (uint32_t i = 0; i < queue.count; ++i) {
    const DeferredUpdate& u = queue.updates[i];
    WriteEntry(u.ptep, u.value, VMI_PAGE_CURRENT_AS | VMI_PAGE_DEFER, u.va);
  }
  core::Count(core::Counter::kLazyBatches);
  core::Count(core::Counter::kLazyBatchedUpdates, queue.count);
  queue.count = 0;
}

void DrainThisCpu() {
  const InterruptsOff off;
  DrainQueue(ThisCpuQueue());
}

void SetLazyMode(uint32_t mode) {
  if (Provides(VMI_CALL_SetLazyMode)) CallRom(VMI_CALL_SetLazyMode, mode);
}

}  // namespace

// Each op falls back to the native instruction for a call the ROM does not provide (NONE), so
// the table can always hold these: the queue needs every flush point to pass through here.
uint64_t ReadCr3() { return Provides(VMI_CALL_GetCR3) ? CallRom(VMI_CALL_GetCR3) : hw::ReadCr3(); }

void WriteCr3(uint64_t cr3) {
  DrainThisCpu();  // queued updates belong to the address space being left
  if (Provides(VMI_CALL_SetCR3)) {
    CallRom(VMI_CALL_SetCR3, cr3);
  } else {
    hw::WriteCr3(cr3);
  }
}

// A new entry is not live: nothing maps through it yet, nothing to defer.
void SetPte(pvops_pte* ptep, pvops_pte value) { WriteEntry(ptep, value, 0, 0); }

void UpdatePte(pvops_pte* ptep, uint64_t va, pvops_pte value) {
  const InterruptsOff off;
  LazyQueue& queue = ThisCpuQueue();
  if (queue.depth == 0) {
    WriteEntry(ptep, value, VMI_PAGE_CURRENT_AS, va);
    return;
  }
  if (queue.count == kLazyQueueEntries) DrainQueue(queue);
  queue.updates[queue.count++] = DeferredUpdate{ptep, va, value};
}

pvops_pte ReadPte(const pvops_pte* ptep) {
  const InterruptsOff off;
  const LazyQueue& queue = ThisCpuQueue();
  for (uint32_t i = queue.count; i > 0; --i) {
    if (queue.updates[i - 1].ptep == ptep) return queue.updates[i - 1].value;  // newest wins
  }
  return hw::ReadPte(ptep);
}

void FlushTlbLocal() {
  DrainThisCpu();
  if (Provides(VMI_CALL_FlushTLB)) {
    CallRom(VMI_CALL_FlushTLB, VMI_FLUSH_TLB);
  } else {
    hw::FlushTlbLocal();
  }
}

void FlushTlbOne(uint64_t va) {
  DrainThisCpu();
  if (Provides(VMI_CALL_InvalPage)) {
    CallRom(VMI_CALL_InvalPage, va);
  } else {
    hw::FlushTlbOne(va);
  }
}

// Remote CPUs flush natively in the shootdown handler; what matters here is that this CPU's
// queued updates reach the tables before anyone flushes.
[[nodiscard]] pvops_status FlushTlbMulti(const pvops_cpuset* cpus, uint64_t start, uint64_t end) {
  DrainThisCpu();
  return hw::FlushTlbMulti(cpus, start, end);
}

void LazyBegin() {
  const InterruptsOff off;
  LazyQueue& queue = ThisCpuQueue();
  if (queue.depth++ == 0) SetLazyMode(VMI_LAZY_MMU);
}

void LazyFlush() {
  const InterruptsOff off;
  LazyQueue& queue = ThisCpuQueue();
  DrainQueue(queue);
  if (queue.depth != 0) {
    SetLazyMode(VMI_LAZY_NONE);  // the ROM's own deferred work is done at mode 0
    SetLazyMode(VMI_LAZY_MMU);
  }
}

void LazyEnd() {
  const InterruptsOff off;
  LazyQueue& queue = ThisCpuQueue();
  if (queue.depth == 0) return;  // unbalanced end: nothing was deferred
  if (--queue.depth != 0) return;
  DrainQueue(queue);
  SetLazyMode(VMI_LAZY_NONE);
}

void ForgetLazyQueues() {
  LazyQueue& queue = core::AreaOf(0)->vmi;
  queue.depth = 0;
  queue.count = 0;
}

}  // namespace pvops::vmi
