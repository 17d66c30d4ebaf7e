// SPDX-License-Identifier: MIT
#include "kernel/xen_pv.h"

#include <pvops/xen.h>

#include "kernel/console.h"
#include "kernel/layout.h"
#include "kernel/paging.h"
#include "kernel/traps.h"
// Xen's public headers at the interface version the library pins (src/core/xen_public.h).
#define __XEN_INTERFACE_VERSION__ 0x00040e00
#include <xen/physdev.h>
#include <xen/xen.h>

extern "C" const char __kernel_start[];
extern "C" const char __kernel_end[];

namespace guest {
namespace {

constexpr uint32_t kEntries = 512;
// The direct map's own tables live in .bss: enough for 128 MiB (the xen environment gives
// dom0 64 MiB); frames past that stay unmapped and the kernel says so.
constexpr uint64_t kMaxDirectMapPages = (128u << 20) / kPageBytes;
constexpr uint32_t kDirectMapL1Tables = kMaxDirectMapPages / kEntries;

struct alignas(4096) Table {
  pvops_pte entries[kEntries];
};
struct DirectMapTables {
  Table l3;
  Table l2;
  Table l1[kDirectMapL1Tables];
};

bool g_xen_pv;
bool g_direct_map_ready;
const start_info* g_start_info;
uint64_t g_bootstrap_end;  // the bootstrap region Xen mapped at KERNEL_VIRT_BASE: [0, end)
uint64_t g_direct_map_bytes;
char g_cmdline[kMaxCmdlineBytes + 1];
DirectMapTables g_direct_map;

uint64_t FrameOf(const void* va) { return VirtToPhys(va) / kPageBytes; }

// Frames that are (or are about to be) page tables: Xen refuses a writable mapping of them.
bool IsTableFrame(uint64_t pfn) {
  const uint64_t pt_first =
      VirtToPhys(reinterpret_cast<const void*>(g_start_info->pt_base)) / kPageBytes;
  if (pfn >= pt_first && pfn - pt_first < g_start_info->nr_pt_frames) return true;
  const uint64_t own_first = FrameOf(&g_direct_map);
  return pfn >= own_first && pfn - own_first < sizeof(DirectMapTables) / kPageBytes;
}

pvops::Status Pin(const Table& table, uint32_t level) {
  return pvops::AllocPt(FrameOf(&table), level);
}

}  // namespace

bool XenPvGuest() { return g_xen_pv; }

void XenPvEarlySetup() {
  g_xen_pv = true;
  // .bss pages (the page pool) may become page tables: alloc_pt must also make this mapping of
  // them read-only, not just the direct map's.
  const uint64_t start = reinterpret_cast<uint64_t>(__kernel_start) & ~(kPageBytes - 1);
  const uint64_t end =
      (reinterpret_cast<uint64_t>(__kernel_end) + kPageBytes - 1) & ~(kPageBytes - 1);
  if (!pvops::Status(pvops_xen_pv_add_alias_window(start, start - kKernelVirtBase, end - start))
           .ok())
    pvops::Shutdown(kExitFault);
}

BootInfo ReadXenPvStartInfo(const void* start_info) {
  BootInfo info{start_info, 0, g_cmdline, nullptr};
  g_cmdline[0] = '\0';
  if (const char* problem = pvops_xen_pv_start_info_problem(start_info); problem != nullptr) {
    info.error = problem;
    return info;
  }
  g_start_info = static_cast<const ::start_info*>(start_info);
  const char* text = pvops_xen_pv_cmdline(start_info);
  size_t len = 0;
  while (text[len] != '\0' && len < kMaxCmdlineBytes) g_cmdline[len] = text[len], ++len;
  g_cmdline[len] = '\0';
  // Xen maps the bootstrap region from pfn 0 up to past its page tables (and its stack).
  const auto* si = static_cast<const ::start_info*>(start_info);
  g_bootstrap_end =
      VirtToPhys(reinterpret_cast<const void*>(si->pt_base)) + si->nr_pt_frames * kPageBytes;
  return info;
}

pvops::Status XenPvBuildDirectMap() {
  const uint64_t hypercalls_before = pvops_get_counter("hypercalls");
  uint64_t pages = g_start_info->nr_pages;
  if (pages > kMaxDirectMapPages) {
    Print("# xen-pv: direct map covers the first %lu of %lu pages\n", kMaxDirectMapPages, pages);
    pages = kMaxDirectMapPages;
  }
  // Leaves first, all queued as one lazy batch after another (64 per multicall).
  {
    pvops::LazyMmu batch;
    for (uint64_t pfn = 0; pfn < pages; ++pfn) {
      const pvops_pte rights = IsTableFrame(pfn) ? 0 : kPteWritable | kPteDirty;
      pvops::SetPte(&g_direct_map.l1[pfn / kEntries].entries[pfn % kEntries],
                    (pfn * kPageBytes) | kPtePresent | kPteAccessed | rights);
    }
  }
  const uint32_t l1_tables = static_cast<uint32_t>((pages + kEntries - 1) / kEntries);
  for (uint32_t i = 0; i < l1_tables; ++i)
    if (const pvops::Status st = Pin(g_direct_map.l1[i], 1); !st.ok()) return st;
  {
    pvops::LazyMmu batch;
    for (uint32_t i = 0; i < l1_tables; ++i)
      pvops::SetPte(&g_direct_map.l2.entries[i],
                    VirtToPhys(&g_direct_map.l1[i]) | kPtePresent | kPteWritable | kPteAccessed);
  }
  if (const pvops::Status st = Pin(g_direct_map.l2, 2); !st.ok()) return st;
  pvops::SetPte(&g_direct_map.l3.entries[0],
                VirtToPhys(&g_direct_map.l2) | kPtePresent | kPteWritable | kPteAccessed);
  if (const pvops::Status st = Pin(g_direct_map.l3, 3); !st.ok()) return st;

  // Linked into the running top-level table (Xen's bootstrap one, which the image's own
  // mapping shows read-only): from here on every CPU started later sees it too.
  const uint64_t root = pvops::ReadCr3() & kPteFrameMask;
  auto* top = reinterpret_cast<pvops_pte*>(kKernelVirtBase + root);
  const uint32_t slot = static_cast<uint32_t>((kDirectMapBase >> 39) % kEntries);
  const pvops_pte link = VirtToPhys(&g_direct_map.l3) | kPtePresent | kPteWritable | kPteAccessed;
  pvops::SetPte(&top[slot], link);
  if ((pvops::ReadPte(&top[slot]) & kPteFrameMask) != (link & kPteFrameMask))
    return PVOPS_ERR_HYPERVISOR;  // Xen refused the link (xen_update_errors counts it)
  g_direct_map_bytes = pages * kPageBytes;
  g_direct_map_ready = true;
  Print("# xen-pv: direct map of %lu pages (%u L1 tables) built with %lu hypercalls\n", pages,
        l1_tables, pvops_get_counter("hypercalls") - hypercalls_before);
  return PVOPS_OK;
}

void* XenPvPhysToVirt(uint64_t pa) {
  if (g_direct_map_ready) return pa < g_direct_map_bytes ? PhysToVirt(pa) : nullptr;
  return pa < g_bootstrap_end ? reinterpret_cast<void*>(kKernelVirtBase + pa) : nullptr;
}

bool XenPvSetIopl(uint32_t iopl, int64_t* xen_rc) {
  physdev_set_iopl request{};
  request.iopl = iopl;
  const pvops::Status st = pvops::Hypercall(__HYPERVISOR_physdev_op, xen_rc, PHYSDEVOP_set_iopl,
                                            reinterpret_cast<uint64_t>(&request));
  return st.ok() && *xen_rc == 0;
}

}  // namespace guest
