// SPDX-License-Identifier: MIT
// Init for Xen HVM and PVH guests: paging and the interrupt flag stay native; the hypercall
// page comes from the MSR that CPUID leaf base+2 names (or vmcall/vmmcall by vendor when the
// page is refused), shared_info is placed in the guest's memory by XENMEM_add_to_physmap, and
// event channels arrive on the callback vector (HVM_PARAM_CALLBACK_IRQ, vector type).

#include "backends/xen/xen.h"
#include "hw/cpu_instructions.h"
// Xen headers after xen.h: core/xen_public.h pins the interface version first.
#include <xen/arch-x86/cpuid.h>
#include <xen/memory.h>

namespace pvops::xen {
namespace {

[[nodiscard]] pvops_status MapSharedInfo(uint32_t boot_cpu, Reason* note) {
  xen_add_to_physmap add{};
  add.domid = DOMID_SELF;
  add.space = XENMAPSPACE_shared_info;
  add.idx = 0;
  add.gpfn = core::VirtToPhys(SharedInfoPage()) / X86_PAGE_SIZE;
  const int64_t rc = Hypercall(__HYPERVISOR_memory_op, XENMEM_add_to_physmap, Arg(&add));
  if (rc != 0) {
    note->Add("XENMEM_add_to_physmap(shared_info) failed (")
        .AddDec(0 - static_cast<uint64_t>(rc))
        .Add("): native clock and interrupts");
    return StatusFromXen(rc);
  }
  g_state.shared = static_cast<volatile shared_info*>(SharedInfoPage());
  if (const pvops_status st = CheckClock(boot_cpu); st != PVOPS_OK) {
    note->Add("vcpu_time_info not filled: native clock");
    return st;
  }
  return PVOPS_OK;
}

}  // namespace

PVOPS_BOOT_CODE pvops_status InitHvm(const pvops_env&, const pvops_candidate& found, pvops_ops* ops,
                                     core::BackendReport* report, Reason* why) {
  g_state.base_leaf = found.base_leaf;
  g_state.max_leaf = found.max_leaf;
  const pvops_cpuid_regs version = arch::cpuid(found.base_leaf + 1, 0);
  const pvops_cpuid_regs page = arch::cpuid(found.base_leaf + 2, 0);
  // No page offered, or its MSR refused: nothing shows a Xen that would answer a bare vmcall
  // either (on a CPU without one it is #UD), so the backend stays out.
  if (page.eax == 0) {
    why->Add("CPUID leaf base+2 offers no hypercall page");
    return PVOPS_ERR_BAD_DATA;
  }
  const uint64_t page_phys = core::VirtToPhys(pvops_xen_hypercall_page);
  if (page_phys % X86_PAGE_SIZE != 0 || !arch::wrmsr_safe(page.ebx, page_phys)) {
    why->Add("the hypercall page MSR ").AddHex(page.ebx).Add(" refused the page");
    return PVOPS_ERR_FAULT;
  }
  // Xen took the MSR but left the page unfilled: it still answers the instruction itself.
  g_state.mode = Mode::kHvmPage;
  if (!StubLooksFilled(__HYPERVISOR_xen_version) || !StubLooksFilled(__HYPERVISOR_console_io)) {
    g_state.mode = Mode::kHvmDirect;
    g_state.insn = hw::HypercallInsnForVendor();
  }
  if (const pvops_status st = ReadVersion(why); st != PVOPS_OK) return st;
  if (g_state.version != version.eax) {
    why->Add("xen_version ")
        .AddHex(g_state.version)
        .Add(" disagrees with CPUID's ")
        .AddHex(version.eax);
    return PVOPS_ERR_BAD_DATA;
  }

  Reason note(report->notes, sizeof(report->notes));
  const uint32_t boot_cpu = core::ThisCpu();
  const pvops_cpuid_regs ids = g_state.max_leaf >= g_state.base_leaf + 4
                                   ? arch::cpuid(g_state.base_leaf + 4, 0)
                                   : pvops_cpuid_regs{};
  ThisPart().cpu.vcpu_id = (ids.eax & XEN_HVM_CPUID_VCPU_ID_PRESENT) != 0 ? ids.ebx : 0;
  report->features[1] = ids.eax;
  if (ThisPart().cpu.vcpu_id < kMaxCpus && MapSharedInfo(boot_cpu, &note) == PVOPS_OK) {
    g_state.paths |= PVOPS_XEN_PATH_PVCLOCK | PVOPS_XEN_PATH_RUNSTATE;
    if (SetUpCallbackVector(&note) == PVOPS_OK)
      g_state.paths |= PVOPS_XEN_PATH_EVENTS | PVOPS_XEN_PATH_CALLBACK_VECTOR;
  }

  ops->hypercall.call = RawHypercallFor(g_state.mode, g_state.insn);
  ops->platform.console_write = ConsoleWrite;
  ops->platform.shutdown = Shutdown;
  ops->platform.cpu_init = HvmCpuInit;
  ops->platform.start_cpu = HvmStartCpu;
  if (PathOn(PVOPS_XEN_PATH_PVCLOCK)) {
    ops->time.clock_ns = ClockNs;
    ops->time.tsc_khz = TscKhz;
    ops->time.wall_clock = WallClock;
  }
  if (PathOn(PVOPS_XEN_PATH_RUNSTATE)) {
    ops->time.steal_ns = StealNs;
    ops->lock.vcpu_is_preempted = VcpuIsPreempted;
  }
  if (PathOn(PVOPS_XEN_PATH_EVENTS)) {
    ops->irq.eoi = HvmEoi;
    ops->irq.send_ipi = SendIpi;
    ops->irq.timer_oneshot = TimerOneshot;
    ops->irq.register_handler = RegisterHandler;
    ops->lock.wait = LockWait;
    ops->lock.kick = LockKick;
  }
  return PVOPS_OK;
}

}  // namespace pvops::xen
