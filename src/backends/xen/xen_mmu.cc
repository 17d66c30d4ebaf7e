// SPDX-License-Identifier: MIT
// Paging for a Xen PV guest: its page tables are read-only to it and hold machine frames, so
// every write is a request to Xen (mmu_update with the entry's machine address), TLB flushes and
// CR3 switches are mmuext_ops, and a frame becomes a page table by pinning once no writable
// mapping of it is left. The caller speaks guest-physical entries; this file converts.
#include "backends/xen/xen.h"
#include "hw/paging.h"

namespace pvops::xen {
namespace {

constexpr uint32_t kEntriesPerTable = 512;
// Xen owns L4 slots [HYPERVISOR_VIRT_START, HYPERVISOR_VIRT_END) of every PV top-level table
// and fills them itself when it validates one; a guest write there is refused.
constexpr uint32_t kXenL4FirstSlot = (__HYPERVISOR_VIRT_START >> 39) % kEntriesPerTable;
constexpr uint32_t kXenL4EndSlot = (__HYPERVISOR_VIRT_END >> 39) % kEntriesPerTable;
// A range flush of more pages than this flushes everything (as the native op does).
constexpr uint64_t kMaxInvlpgPages = 32;

constexpr uint32_t kMaxRoots = 16;
constexpr uint32_t kMaxWindows = 4;
struct AliasWindow {
  uint64_t va, pa, bytes;
};

uint64_t g_root_pfns[kMaxRoots];  // pinned top-level tables; 0 = free slot (pfn 0 is no L4)
AliasWindow g_windows[kMaxWindows];
uint32_t g_window_count;

uint64_t MachineAddressOf(const void* va) {
  const uint64_t phys = core::VirtToPhys(va);
  return phys == kInvalidFrame ? kInvalidFrame : PhysToMachine(phys);
}

void RememberRoot(uint64_t pfn) {
  for (uint64_t& slot : g_root_pfns)
    if (slot == pfn) return;
  for (uint64_t& slot : g_root_pfns) {
    if (slot == 0) {
      slot = pfn;
      return;
    }
  }
}

void ForgetRoot(uint64_t pfn) {
  for (uint64_t& slot : g_root_pfns)
    if (slot == pfn) slot = 0;
}

bool InXenL4Slot(const pvops_pte* ptep) {
  const uint64_t phys = core::VirtToPhys(ptep);
  const uint32_t slot = static_cast<uint32_t>((phys % X86_PAGE_SIZE) / sizeof(pvops_pte));
  if (slot < kXenL4FirstSlot || slot >= kXenL4EndSlot) return false;
  for (const uint64_t pfn : g_root_pfns)
    if (pfn != 0 && pfn == phys / X86_PAGE_SIZE) return true;
  return false;
}

// Every virtual address the library knows maps `pfn`: the env's direct map and the windows.
uint32_t AliasesOf(uint64_t pfn, uint64_t (&out)[1 + kMaxWindows]) {
  const uint64_t phys = pfn * X86_PAGE_SIZE;
  uint32_t n = 0;
  if (void* va = core::PhysToVirt(phys); va != nullptr) out[n++] = reinterpret_cast<uintptr_t>(va);
  for (uint32_t i = 0; i < g_window_count; ++i) {
    const AliasWindow& w = g_windows[i];
    if (phys < w.pa || phys - w.pa >= w.bytes) continue;
    const uint64_t va = w.va + (phys - w.pa);
    bool seen = false;
    for (uint32_t j = 0; j < n; ++j) seen = seen || out[j] == va;
    if (!seen) out[n++] = va;
  }
  return n;
}

// One update_va_mapping of every alias of `pfn` to `machine_pte`, into calls[0..); how many.
uint32_t RemapCalls(uint64_t pfn, pvops_pte machine_pte, uint64_t flags,
                    multicall_entry_t (&calls)[2 + kMaxWindows], uint32_t first) {
  uint64_t aliases[1 + kMaxWindows];
  const uint32_t n = AliasesOf(pfn, aliases);
  for (uint32_t i = 0; i < n; ++i) {
    multicall_entry_t& call = calls[first + i];
    call = multicall_entry_t{};
    call.op = __HYPERVISOR_update_va_mapping;
    call.args[0] = aliases[i];
    call.args[1] = machine_pte;
    call.args[2] = flags;
  }
  return n;
}

pvops_pte AliasPte(uint64_t mfn, bool writable) {
  return (mfn << 12) | X86_PTE_PRESENT | X86_PTE_ACCESSED |
         (writable ? X86_PTE_WRITABLE | X86_PTE_DIRTY : 0);
}

// A frame becomes a page table (pin) once no writable mapping of it is left, and stops being
// one (unpin) before any comes back: one multicall, applied in order.
[[nodiscard]] pvops_status ChangeTableState(uint64_t pfn, uint32_t level, bool pin) {
  if (level < 1 || level > 4) return PVOPS_ERR_INVALID;
  const uint64_t mfn = PfnToMfn(pfn);
  if (mfn == kInvalidFrame || pfn >= Frames().nr_pages) return PVOPS_ERR_INVALID;
  (void)FlushBatch();
  multicall_entry_t calls[2 + kMaxWindows];
  constexpr uint64_t kLocalFlush = UVMF_INVLPG | UVMF_LOCAL;
  const uint32_t remaps = RemapCalls(pfn, AliasPte(mfn, !pin), kLocalFlush, calls, pin ? 0 : 1);
  mmuext_op_t op{};
  op.cmd = pin ? MMUEXT_PIN_L1_TABLE + (level - 1) : MMUEXT_UNPIN_TABLE;
  op.arg1.mfn = mfn;
  multicall_entry_t& ext = calls[pin ? remaps : 0];
  ext = multicall_entry_t{};
  ext.op = __HYPERVISOR_mmuext_op;
  ext.args[0] = Arg(&op);
  ext.args[1] = 1;
  ext.args[3] = DOMID_SELF;
  const pvops_status st = Multicall(calls, remaps + 1);
  if (pin && st != PVOPS_OK) {
    // Leave the frame as it was: writable where it was mapped, not pinned.
    (void)Multicall(calls, RemapCalls(pfn, AliasPte(mfn, true), kLocalFlush, calls, 0));
    return st;
  }
  if (level == 4) pin ? RememberRoot(pfn) : ForgetRoot(pfn);
  return st;
}

void Submit(pvops_pte* ptep, pvops_pte value) {
  core::Count(core::Counter::kPteUpdates);
  if (InXenL4Slot(ptep)) return;  // Xen's own; it keeps it right in every table
  const pvops_pte machine = PteToMachine(value);
  const uint64_t address = MachineAddressOf(ptep);
  if (machine == kInvalidFrame || address == kInvalidFrame) {
    kCounters.Count(Counter::kUpdateErrors);
    return;
  }
  (void)SubmitMmuUpdate(address, machine);
}

}  // namespace

void InitPvMmu(uint64_t root_pfn) {
  for (uint64_t& slot : g_root_pfns) slot = 0;
  ThisCpu().cr3 = root_pfn * X86_PAGE_SIZE;
  RememberRoot(root_pfn);
}

uint64_t ReadCr3() { return ThisCpu().cr3; }

void WriteCr3(uint64_t cr3) {
  (void)FlushBatch();  // queued updates belong to the old address space's view
  const uint64_t mfn = PfnToMfn((cr3 & X86_PTE_FRAME_MASK) / X86_PAGE_SIZE);
  mmuext_op_t op{};
  op.cmd = MMUEXT_NEW_BASEPTR;
  op.arg1.mfn = mfn;
  if (mfn == kInvalidFrame || SubmitMmuext(op) != PVOPS_OK) {
    if (mfn == kInvalidFrame) kCounters.Count(Counter::kUpdateErrors);
    return;
  }
  ThisCpu().cr3 = cr3;
}

void SetPte(pvops_pte* ptep, pvops_pte value) { Submit(ptep, value); }

// Xen does not flush on an mmu_update of a live entry either: the caller's flush follows.
void UpdatePte(pvops_pte* ptep, uint64_t, pvops_pte value) { Submit(ptep, value); }

pvops_pte ReadPte(const pvops_pte* ptep) {
  return PteFromMachine(*static_cast<const volatile pvops_pte*>(ptep));
}

[[nodiscard]] pvops_status AllocPt(uint64_t pfn, uint32_t level) {
  return ChangeTableState(pfn, level, true);
}

[[nodiscard]] pvops_status ReleasePt(uint64_t pfn, uint32_t level) {
  return ChangeTableState(pfn, level, false);
}

void FlushTlbLocal() {
  mmuext_op_t op{};
  op.cmd = MMUEXT_TLB_FLUSH_LOCAL;
  (void)SubmitMmuext(op);
}

void FlushTlbOne(uint64_t va) {
  mmuext_op_t op{};
  op.cmd = MMUEXT_INVLPG_LOCAL;
  op.arg1.linear_addr = va;
  (void)SubmitMmuext(op);
}

[[nodiscard]] pvops_status FlushTlbMulti(const pvops_cpuset* cpus, uint64_t start, uint64_t end) {
  if (cpus == nullptr) return PVOPS_ERR_INVALID;
  xen_ulong_t vcpu_mask[(kMaxCpus + 63) / 64] = {};
  bool any = false;
  for (uint32_t cpu = 0; cpu < PVOPS_MAX_CPUS; ++cpu) {
    if (!pvops_cpuset_has(cpus, cpu)) continue;
    if (cpu >= kMaxCpus || core::Cpu(cpu).online == 0) return PVOPS_ERR_INVALID;
    const uint32_t vcpu = Part(cpu)->cpu.vcpu_id;  // online: it has its area
    vcpu_mask[vcpu / 64] |= xen_ulong_t{1} << (vcpu % 64);
    any = true;
    if (cpu != core::ThisCpu()) core::Count(core::Counter::kTlbFlushRemote);
  }
  if (!any || (end != 0 && end <= start)) return PVOPS_OK;
  (void)FlushBatch();  // the flush must see every queued update
  mmuext_op_t ops[kMaxInvlpgPages];
  uint32_t n = 0;
  const uint64_t first = start & ~(X86_PAGE_SIZE - 1);
  if (end == 0 || (end - first) / X86_PAGE_SIZE > kMaxInvlpgPages) {
    ops[n] = mmuext_op_t{};
    ops[n].cmd = MMUEXT_TLB_FLUSH_MULTI;
    set_xen_guest_handle(ops[n].arg2.vcpumask, vcpu_mask);
    ++n;
  } else {
    for (uint64_t va = first; va < end; va += X86_PAGE_SIZE, ++n) {
      ops[n] = mmuext_op_t{};
      ops[n].cmd = MMUEXT_INVLPG_MULTI;
      ops[n].arg1.linear_addr = va;
      set_xen_guest_handle(ops[n].arg2.vcpumask, vcpu_mask);
    }
  }
  // Xen returns once every named vCPU has flushed.
  const int64_t rc = Hypercall(__HYPERVISOR_mmuext_op, Arg(ops), n, 0, DOMID_SELF);
  core::Count(core::Counter::kTlbFlushHypercalls);
  if (rc < 0) kCounters.Count(Counter::kUpdateErrors);
  return StatusFromXen(rc);
}

[[nodiscard]] pvops_status FlushTlbRemote(pvops_cpuset* cpus, uint64_t start, uint64_t end) {
  if (cpus == nullptr) return PVOPS_ERR_INVALID;
  core::Count(core::Counter::kTlbFlushRemoteCalls);
  const uint32_t self = core::ThisCpu();
  pvops_cpuset others = *cpus;
  pvops_cpuset_remove(&others, self);
  // A PV guest cannot send a flush IPI any cheaper than Xen flushes: every other CPU goes to Xen.
  if (const pvops_status st = FlushTlbMulti(&others, start, end); st != PVOPS_OK) return st;
  hw::LeaveOnlyCaller(cpus, self);
  return PVOPS_OK;
}

[[nodiscard]] pvops_status MapMachinePage(void* va, uint64_t machine_address) {
  const uint64_t pte = (machine_address & X86_PTE_FRAME_MASK) | X86_PTE_PRESENT | X86_PTE_WRITABLE |
                       X86_PTE_ACCESSED | X86_PTE_DIRTY;
  const int64_t rc = Hypercall(__HYPERVISOR_update_va_mapping, reinterpret_cast<uintptr_t>(va), pte,
                               UVMF_INVLPG | UVMF_LOCAL);
  return StatusFromXen(rc);
}

pvops_status RemapAliases(uint64_t pfn, pvops_pte machine_pte, uint64_t flags) {
  multicall_entry_t calls[2 + kMaxWindows];
  const uint32_t n = RemapCalls(pfn, machine_pte, flags, calls, 0);
  return n == 0 ? PVOPS_OK : Multicall(calls, n);
}

[[nodiscard]] pvops_status AddAliasWindow(uint64_t va, uint64_t pa, uint64_t bytes) {
  if (bytes == 0 || va % X86_PAGE_SIZE != 0 || pa % X86_PAGE_SIZE != 0 || va + bytes < va)
    return PVOPS_ERR_INVALID;
  if (g_window_count == kMaxWindows) return PVOPS_ERR_NO_RESOURCE;
  g_windows[g_window_count++] = AliasWindow{va, pa, bytes};
  return PVOPS_OK;
}

#ifdef PVOPS_SIM_CPU
void ResetAliasWindows() { g_window_count = 0; }
#endif

}  // namespace pvops::xen

extern "C" pvops_status pvops_xen_pv_add_alias_window(uint64_t va, uint64_t pa, uint64_t bytes) {
  return pvops::xen::AddAliasWindow(va, pa, bytes);
}
