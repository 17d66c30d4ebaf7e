// SPDX-License-Identifier: MIT
// Which ops the chosen backend took over (pvops_info.paravirt): read off the installed table
// against the native one, so no backend has to keep a second list in step with its init.
#include "core/paravirt_ops.h"

#include <stddef.h>

#include "core/backend.h"

namespace pvops::core {
uint32_t ParavirtOps(const pvops_ops& t) {
  const pvops_ops& n = kNativeOps;
  uint32_t bits = 0;
  auto mark = [&bits](bool replaced, uint32_t bit) {
    if (replaced) bits |= bit;
  };
  mark(t.cpu.io_delay != n.cpu.io_delay, PVOPS_PV_IO_DELAY);
  mark(t.cpu.halt != n.cpu.halt || t.cpu.safe_halt != n.cpu.safe_halt, PVOPS_PV_HALT);
  mark(t.irq.save_flags != n.irq.save_flags || t.irq.restore_flags != n.irq.restore_flags ||
           t.irq.disable != n.irq.disable || t.irq.enable != n.irq.enable,
       PVOPS_PV_IRQ_FLAGS);
  mark(t.irq.eoi != n.irq.eoi, PVOPS_PV_EOI);
  mark(t.irq.send_ipi != n.irq.send_ipi, PVOPS_PV_SEND_IPI);
  mark(t.irq.timer_oneshot != n.irq.timer_oneshot, PVOPS_PV_TIMER);
  mark(t.mmu.read_cr3 != n.mmu.read_cr3 || t.mmu.write_cr3 != n.mmu.write_cr3 ||
           t.mmu.set_pte != n.mmu.set_pte || t.mmu.update_pte != n.mmu.update_pte ||
           t.mmu.read_pte != n.mmu.read_pte || t.mmu.alloc_pt != n.mmu.alloc_pt ||
           t.mmu.release_pt != n.mmu.release_pt || t.mmu.lazy_begin != n.mmu.lazy_begin,
       PVOPS_PV_PAGE_TABLES);
  // Only the hypervisor's share counts: a backend that wraps the native shootdown (VMI drains
  // its page-table queue first) flushes no CPU without an IPI.
  mark(t.mmu.flush_tlb_remote != n.mmu.flush_tlb_remote, PVOPS_PV_TLB_FLUSH);
  mark(t.time.clock_ns != n.time.clock_ns, PVOPS_PV_CLOCK);
  mark(t.time.wall_clock != n.time.wall_clock, PVOPS_PV_WALL_CLOCK);
  mark(t.time.tsc_khz != n.time.tsc_khz, PVOPS_PV_TSC_KHZ);
  mark(t.time.steal_ns != n.time.steal_ns, PVOPS_PV_STEAL);
  mark(t.lock.wait != n.lock.wait || t.lock.kick != n.lock.kick, PVOPS_PV_LOCK);
  mark(t.lock.vcpu_is_preempted != n.lock.vcpu_is_preempted, PVOPS_PV_PREEMPTED);
  mark(t.platform.console_write != n.platform.console_write, PVOPS_PV_CONSOLE);
  mark(t.platform.start_cpu != n.platform.start_cpu, PVOPS_PV_CPU_START);
  mark(t.kernel.load_idt != n.kernel.load_idt, PVOPS_PV_CPU_TABLES);
  return bits;
}

#ifdef PVOPS_CHECK_EMPTY_SLOTS
namespace {

struct OpsGroup {
  const char* name;
  size_t offset;
  size_t size;
};
constexpr OpsGroup kOpsGroups[] = {
    {"cpu", offsetof(pvops_ops, cpu), sizeof(pvops_cpu_ops)},
    {"irq", offsetof(pvops_ops, irq), sizeof(pvops_irq_ops)},
    {"mmu", offsetof(pvops_ops, mmu), sizeof(pvops_mmu_ops)},
    {"time", offsetof(pvops_ops, time), sizeof(pvops_time_ops)},
    {"lock", offsetof(pvops_ops, lock), sizeof(pvops_lock_ops)},
    {"hypercall", offsetof(pvops_ops, hypercall), sizeof(pvops_hypercall_ops)},
    {"platform", offsetof(pvops_ops, platform), sizeof(pvops_platform_ops)},
    {"kernel", offsetof(pvops_ops, kernel), sizeof(pvops_kernel_ops)},
};

// The walk below reads pointer-sized slots: no group may hold anything else, nor padding.
constexpr bool GroupsArePointersEndToEnd() {
  size_t at = 0;
  for (const OpsGroup& g : kOpsGroups) {
    if (g.offset != at || g.size % sizeof(void*) != 0) return false;
    at += g.size;
  }
  return at == sizeof(pvops_ops);
}
static_assert(GroupsArePointersEndToEnd(), "pvops_ops must be its groups' pointers, end to end");

}  // namespace

bool FindEmptySlot(const pvops_ops& table, TableSlot* empty) {
  for (const OpsGroup& g : kOpsGroups) {
    for (size_t at = 0; at < g.size; at += sizeof(void*)) {
      if (OpInSlot(table, SlotOf(g.offset + at)) != 0) continue;
      *empty = {g.name, static_cast<uint32_t>(at / sizeof(void*)),
                static_cast<uint32_t>(g.offset + at)};
      return true;
    }
  }
  return false;
}
#endif

}  // namespace pvops::core

extern "C" const char* pvops_paravirt_op_name(uint32_t bit) {
  switch (bit) {
    case PVOPS_PV_IO_DELAY: return "io_delay";
    case PVOPS_PV_HALT: return "halt";
    case PVOPS_PV_IRQ_FLAGS: return "irq_flags";
    case PVOPS_PV_EOI: return "eoi";
    case PVOPS_PV_SEND_IPI: return "send_ipi";
    case PVOPS_PV_TIMER: return "timer";
    case PVOPS_PV_PAGE_TABLES: return "page_tables";
    case PVOPS_PV_TLB_FLUSH: return "tlb_flush";
    case PVOPS_PV_CLOCK: return "clock";
    case PVOPS_PV_WALL_CLOCK: return "wall_clock";
    case PVOPS_PV_TSC_KHZ: return "tsc_khz";
    case PVOPS_PV_STEAL: return "steal";
    case PVOPS_PV_LOCK: return "lock";
    case PVOPS_PV_PREEMPTED: return "preempted";
    case PVOPS_PV_CONSOLE: return "console";
    case PVOPS_PV_CPU_START: return "cpu_start";
    case PVOPS_PV_CPU_TABLES: return "cpu_tables";
    default: return nullptr;
  }
}
