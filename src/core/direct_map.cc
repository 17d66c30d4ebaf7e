// SPDX-License-Identifier: MIT
// pvops_build_direct_map: a kernel's map of all its memory, written only through the table, so
// that it is built the same way natively and where page tables belong to the hypervisor (Xen
// PV: a frame may be a table only while nothing maps it writable). It runs once, at boot: plain
// calls through the table, not patchable sites.

#include "arch/x86/registers.h"
#include "core/backend.h"
#include "core/runtime.h"

namespace pvops::core {
namespace {

constexpr uint64_t kEntries = 512;
constexpr uint64_t kSlotBytes = uint64_t{1} << 39;  // what one top-level entry maps
constexpr pvops_pte kTableLink = X86_PTE_PRESENT | X86_PTE_WRITABLE | X86_PTE_ACCESSED;

struct Table {
  pvops_pte entries[kEntries];
};

// The running top-level table: through the kernel's map, else the loader's.
pvops_pte* RootTable(const pvops_mmu_ops& mmu) {
  const uint64_t root = mmu.read_cr3() & X86_PTE_FRAME_MASK;
  if (void* va = PhysToVirt(root); va != nullptr) return static_cast<pvops_pte*>(va);
  const LoaderMapping& loader = g_loader_mapping;
  if (root >= loader.bytes) return nullptr;
  return reinterpret_cast<pvops_pte*>(loader.va + root);
}

// Level by level from the leaves: a level's entries are written (one lazy batch), then each of
// its tables is made a table, and the level above points at them. Xen checks each table as it
// is pinned, and a frame that is a table (the loader's, or one of these) is mapped read-only.
[[nodiscard]] PVOPS_BOOT_CODE pvops_status Build(Table* tables, uint64_t pages,
                                                 uint64_t own_first_pfn, uint64_t own_frames,
                                                 Table** top) {
  const pvops_mmu_ops& mmu = pvops_table.mmu;
  const LoaderMapping& loader = g_loader_mapping;
  Table* below = nullptr;
  uint64_t items = pages;
  for (uint32_t level = 1; level <= 3; ++level) {
    mmu.lazy_begin();
    for (uint64_t i = 0; i < items; ++i) {
      pvops_pte entry;
      if (level == 1) {
        const bool table =
            i - loader.table_pfn < loader.table_frames || i - own_first_pfn < own_frames;
        entry = (i * X86_PAGE_SIZE) | X86_PTE_PRESENT | X86_PTE_ACCESSED |
                (table ? 0 : X86_PTE_WRITABLE | X86_PTE_DIRTY);
      } else {
        entry = VirtToPhys(&below[i]) | kTableLink;
      }
      mmu.set_pte(&tables[i / kEntries].entries[i % kEntries], entry);
    }
    mmu.lazy_end();
    items = (items + kEntries - 1) / kEntries;
    for (uint64_t i = 0; i < items; ++i)
      if (const pvops_status st = mmu.alloc_pt(VirtToPhys(&tables[i]) / X86_PAGE_SIZE, level);
          st != PVOPS_OK)
        return st;
    below = tables;
    tables += items;
  }
  *top = below;  // one L3: pages never exceed what one top-level entry maps
  return PVOPS_OK;
}

}  // namespace
}  // namespace pvops::core

extern "C" PVOPS_BOOT_CODE pvops_status pvops_build_direct_map(uint64_t va, void* tables,
                                                               uint64_t table_bytes, uint64_t pages,
                                                               uint64_t* mapped_pages) {
  using namespace pvops::core;
  if (mapped_pages == nullptr) return PVOPS_ERR_INVALID;
  *mapped_pages = 0;
  if (va % kSlotBytes != 0 || tables == nullptr ||
      reinterpret_cast<uintptr_t>(tables) % X86_PAGE_SIZE != 0)
    return PVOPS_ERR_INVALID;
  if (pages == 0) pages = g_loader_mapping.pages;
  if (pages == 0) return PVOPS_ERR_INVALID;
  // One L3, then an L2 per 512 L1s: the L1s that fit decide how much is mapped.
  const uint64_t table_pages = table_bytes / X86_PAGE_SIZE;
  const uint64_t l1_fit =
      table_pages > 2 ? table_pages - 1 - (table_pages + kEntries - 1) / kEntries : 0;
  if (pages > l1_fit * kEntries) pages = l1_fit * kEntries;
  if (pages > kSlotBytes / X86_PAGE_SIZE) pages = kSlotBytes / X86_PAGE_SIZE;
  if (pages == 0) return PVOPS_ERR_NO_RESOURCE;
  const pvops_mmu_ops& mmu = pvops_table.mmu;
  pvops_pte* const root = RootTable(mmu);
  pvops_pte* const slot = root == nullptr ? nullptr : &root[(va / kSlotBytes) % kEntries];
  if (slot == nullptr || (*slot & X86_PTE_PRESENT) != 0)
    return PVOPS_ERR_INVALID;  // no way to the top-level table, or the entry is taken
  auto* const first = static_cast<Table*>(tables);
  const uint64_t l1s = (pages + kEntries - 1) / kEntries;
  const uint64_t used = l1s + (l1s + kEntries - 1) / kEntries + 1;
  Table* l3 = nullptr;
  if (const pvops_status st = Build(first, pages, VirtToPhys(first) / X86_PAGE_SIZE, used, &l3);
      st != PVOPS_OK)
    return st;
  const pvops_pte link = VirtToPhys(l3) | kTableLink;
  mmu.set_pte(slot, link);
  // A hypervisor that refuses the write leaves the entry as it was.
  if ((mmu.read_pte(slot) & X86_PTE_FRAME_MASK) != (link & X86_PTE_FRAME_MASK))
    return PVOPS_ERR_HYPERVISOR;
  *mapped_pages = pages;
  return PVOPS_OK;
}
