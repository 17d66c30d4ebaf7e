// SPDX-License-Identifier: MIT
// Init for a Xen PV guest: nothing the guest was handed is used before it checks out. The
// start_info (layout, counts), the hypercall page (filled by Xen at domain build), the m2p
// window Xen reports, the p2m list against it and against the real CR3, the shared_info page
// and the boot vCPU's clock tuple. Any failure names the value and leaves the table untouched.

#include "backends/xen/xen.h"
#include "hw/cpu_instructions.h"
// Xen headers after xen.h: core/xen_public.h pins the interface version first.
#include <xen/memory.h>

namespace pvops::xen {
namespace {

// The page the library turns into shared_info: its own frame is simply not used any more.
alignas(X86_PAGE_SIZE) unsigned char g_shared_info_page[X86_PAGE_SIZE];

void NoIoDelay() {}

[[nodiscard]] pvops_status CheckMachphysMapping(const xen_machphys_mapping& m, Reason* why) {
  const uint64_t bytes = m.v_end - m.v_start;
  const bool inside =
      m.v_start >= g_xen_area.start && m.v_end <= g_xen_area.end && m.v_end > m.v_start;
  if (!inside || m.max_mfn >= bytes / sizeof(xen_ulong_t)) {
    why->Add("m2p window ")
        .AddHex(m.v_start)
        .Add("-")
        .AddHex(m.v_end)
        .Add(" max_mfn ")
        .AddHex(m.max_mfn)
        .Add(" outside Xen's area");
    return PVOPS_ERR_BAD_DATA;
  }
  return PVOPS_OK;
}

// The bootstrap region maps pfn N at virt_base + N pages (xen.h, start-of-day layout 5), and
// pt_base is the top-level table CR3 names: that fixes virt_base. The p2m list must lie inside
// the region, below start_info, before anything reads it.
[[nodiscard]] pvops_status CheckBootstrapRegion(const start_info* si, uint64_t root_pfn,
                                                Reason* why) {
  const uint64_t root_phys = root_pfn * X86_PAGE_SIZE;
  if (si->pt_base < root_phys) {
    why->Add("pt_base ").AddHex(si->pt_base).Add(" lies below its own pseudo-physical address");
    return PVOPS_ERR_BAD_DATA;
  }
  const uint64_t virt_base = si->pt_base - root_phys;
  if (si->mfn_list < virt_base) {
    why->Add("start_info mfn_list ")
        .AddHex(si->mfn_list)
        .Add(" lies below the bootstrap region at ")
        .AddHex(virt_base);
    return PVOPS_ERR_BAD_DATA;
  }
  // Every later page-table write depends on the kernel's virt_to_phys agreeing with Xen.
  const uint64_t kernel_says = core::VirtToPhys(reinterpret_cast<const void*>(si->pt_base));
  if (kernel_says != root_phys) {
    why->Add("the kernel's virt_to_phys(pt_base) is ")
        .AddHex(kernel_says)
        .Add(" but Xen's CR3 says ")
        .AddHex(root_phys);
    return PVOPS_ERR_BAD_DATA;
  }
  return PVOPS_OK;
}

// What pvops_early_init trusted: the kernel may clear its .bss after the call, so .data.
[[gnu::section(".data.pvops_xen_early_start_info")]] const start_info* g_early_start_info;

void EarlyShutdown(uint32_t code) { pvops_xen_pv_early_exit(g_early_start_info, code); }

// Whole groups are copied from read-only data: smaller code than storing each pointer.
constexpr pvops_kernel_ops kPvKernelOps = {
    PvLoadIdt,       PvLoadGdt,   PvLoadTr,         PvReadCr2,  pvops_xen_pv_interrupt_return,
    PvWriteGdtEntry, hw::LoadTls, PvSetKernelStack, PvWriteCr0, PvWriteCr4,
    PvReadTpr,       PvWriteTpr};
constexpr pvops_mmu_ops kPvMmuOps = {ReadCr3,     WriteCr3,      SetPte,         UpdatePte,
                                     ReadPte,     AllocPt,       ReleasePt,      FlushTlbLocal,
                                     FlushTlbOne, FlushTlbMulti, FlushTlbRemote, LazyBegin,
                                     LazyFlush,   LazyEnd,       PhysToMachine,  MachineToPhys};

// The ops a ring-3 kernel needs from its first instruction on, and keeps after init.
PVOPS_BOOT_CODE void FillPvCpuOps(pvops_ops* ops) {
  ops->cpu.halt = PvHalt;
  ops->cpu.safe_halt = PvSafeHalt;
  ops->irq.save_flags = PvSaveFlags;
  ops->irq.restore_flags = PvRestoreFlags;
  ops->irq.disable = PvIrqDisable;
  ops->irq.enable = PvIrqEnable;
  ops->kernel = kPvKernelOps;
}

PVOPS_BOOT_CODE void FillOps(pvops_ops* ops) {
  FillPvCpuOps(ops);
  ops->cpu.io_delay = NoIoDelay;  // nothing on a PV guest's bus needs the pause
  ops->irq.eoi = PvEoi;
  ops->irq.send_ipi = SendIpi;
  ops->irq.timer_oneshot = TimerOneshot;
  ops->irq.register_handler = RegisterHandler;
  ops->mmu = kPvMmuOps;
  ops->time = {ClockNs, WallClock, TscKhz, StealNs};
  ops->lock = {LockWait, LockKick, VcpuIsPreempted};
  ops->hypercall = {RawHypercallFor(Mode::kPv, g_state.insn)};
  ops->platform = {ConsoleWrite, Shutdown, PvStartCpu, PvCpuInit};
}

}  // namespace

XenArea g_xen_area = {HYPERVISOR_VIRT_START, HYPERVISOR_VIRT_END};

[[nodiscard]] PVOPS_BOOT_CODE pvops_status EarlyInitPv(const void* boot_info, pvops_ops* ops) {
  // Xen filled the page at domain build, or this is no PV entry: then nothing is installed.
  if (!StubLooksFilled(__HYPERVISOR_console_io) || !StubLooksFilled(__HYPERVISOR_sched_op))
    return PVOPS_ERR_UNSUPPORTED;
  const auto* si = static_cast<const start_info*>(boot_info);
  const bool trusted = StartInfoProblem(si) == nullptr;
  g_early_start_info = trusted ? si : nullptr;  // untrusted: never dom0, so a reboot ends it
  ops->platform.console_write = ConsoleWrite;
  ops->platform.shutdown = EarlyShutdown;
  if (!trusted) return PVOPS_ERR_BAD_DATA;
  FillPvCpuOps(ops);
  return PVOPS_OK;
}

void* SharedInfoPage() { return g_shared_info_page; }

[[nodiscard]] PVOPS_BOOT_CODE pvops_status InitPv(const pvops_env& env, pvops_ops* ops,
                                                  core::BackendReport* report, Reason* why) {
  const auto* si = static_cast<const start_info*>(env.boot_info);
  if (const char* problem = StartInfoProblem(si); problem != nullptr) {
    why->Add(problem);
    return PVOPS_ERR_BAD_DATA;
  }
  if (!StubLooksFilled(__HYPERVISOR_xen_version) || !StubLooksFilled(__HYPERVISOR_multicall)) {
    why->Add("the hypercall page is not filled: the kernel's XEN_ELFNOTE_HYPERCALL_PAGE must "
             "name pvops_xen_hypercall_page");
    return PVOPS_ERR_UNSUPPORTED;
  }
  g_state.mode = Mode::kPv;
  g_state.start = si;
  g_state.dom0 = (si->flags & SIF_INITDOMAIN) != 0;
  if (const pvops_status st = ReadVersion(why); st != PVOPS_OK) return st;

  xen_machphys_mapping mapping{};
  if (const int64_t rc = Hypercall(__HYPERVISOR_memory_op, XENMEM_machphys_mapping, Arg(&mapping));
      rc != 0) {
    why->Add("XENMEM_machphys_mapping failed (").AddDec(0 - static_cast<uint64_t>(rc)).Add(")");
    return StatusFromXen(rc);
  }
  if (const pvops_status st = CheckMachphysMapping(mapping, why); st != PVOPS_OK) return st;
  const auto* m2p = reinterpret_cast<const volatile xen_ulong_t*>(mapping.v_start);
  // A PV guest's CR3 read is emulated by Xen: the machine address of the current table.
  const uint64_t cr3_mfn = arch::read_cr3() / X86_PAGE_SIZE;
  const uint64_t root_pfn = cr3_mfn <= mapping.max_mfn ? m2p[cr3_mfn] : kInvalidFrame;
  if (root_pfn >= si->nr_pages) {
    why->Add("CR3 frame ").AddHex(cr3_mfn).Add(" is not a frame of this guest");
    return PVOPS_ERR_BAD_DATA;
  }
  if (const pvops_status st = CheckBootstrapRegion(si, root_pfn, why); st != PVOPS_OK) return st;
  const FrameMaps maps{reinterpret_cast<const xen_pfn_t*>(si->mfn_list), si->nr_pages,
                       reinterpret_cast<const xen_ulong_t*>(mapping.v_start), mapping.max_mfn + 1};
  if (const char* problem = InstallFrameMaps(maps); problem != nullptr) {
    why->Add(problem);
    return PVOPS_ERR_BAD_DATA;
  }
  if (PfnToMfn(root_pfn) != cr3_mfn) {
    why->Add("the p2m list disagrees with CR3 about pfn ").AddHex(root_pfn);
    return PVOPS_ERR_BAD_DATA;
  }
  InitPvMmu(root_pfn);
  // The bootstrap region stays mapped beside any map the kernel builds: a frame of it that
  // becomes a page table must lose that writable mapping too.
  const uint64_t virt_base = si->pt_base - root_pfn * X86_PAGE_SIZE;
  const uint64_t bootstrap_bytes = (root_pfn + si->nr_pt_frames) * X86_PAGE_SIZE;
  core::g_loader_mapping = {virt_base, bootstrap_bytes, root_pfn, si->nr_pt_frames, si->nr_pages};
  if (const pvops_status st = AddAliasWindow(virt_base, 0, bootstrap_bytes); st != PVOPS_OK) {
    why->Add("no alias window left for the bootstrap region");
    return st;
  }

  if (const pvops_status st = MapMachinePage(g_shared_info_page, si->shared_info); st != PVOPS_OK) {
    why->Add("mapping shared_info ")
        .AddHex(si->shared_info)
        .Add(" failed: ")
        .Add(pvops_status_name(st));
    return st;
  }
  g_state.shared = reinterpret_cast<volatile shared_info*>(g_shared_info_page);
  const uint32_t boot_cpu = core::ThisCpu();
  ThisPart().cpu.vcpu_id = 0;  // Xen starts a PV guest on vCPU 0
  if (CheckClock(boot_cpu) != PVOPS_OK) {
    g_state.shared = nullptr;
    why->Add("vCPU 0's vcpu_time_info is not filled (version, mul or shift)");
    return PVOPS_ERR_BAD_DATA;
  }
  // Lets Xen flag runstate updates in progress; older Xen lacks it and the reader copes.
  (void)Hypercall(__HYPERVISOR_vm_assist, VMASST_CMD_enable, VMASST_TYPE_runstate_update_flag);

  g_state.paths = PVOPS_XEN_PATH_PVCLOCK | PVOPS_XEN_PATH_EVENTS | PVOPS_XEN_PATH_PV_MMU |
                  PVOPS_XEN_PATH_PV_IRQ_FLAG | PVOPS_XEN_PATH_RUNSTATE |
                  (g_state.dom0 ? PVOPS_XEN_PATH_DOM0_EXIT : 0);
  FillOps(ops);
  report->features[1] = si->flags;
  if (StartInfoCmdline(si)[0] == '\0' && si->cmd_line[0] != 0) {
    report->Note().Add("start_info command line is not NUL-terminated within 1024 bytes: ignored");
  }
  return PVOPS_OK;
}

}  // namespace pvops::xen
