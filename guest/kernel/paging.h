/* SPDX-License-Identifier: MIT */
// Page-table helpers for the mmu cases: a fixed pool of page frames, and building / tearing
// down the path of tables that maps one VA. Every table write goes through the pvops table
// (AllocPt before a fresh table is linked, SetPte / UpdatePte for entries, ReleasePt after it is
// unlinked), and every table read through ReadPte, so the same code is correct under Xen PV.
#pragma once

#include <stdint.h>

#include <pvops/pvops.hpp>

#include "arch/x86/registers.h"

namespace guest {

inline constexpr pvops_pte kPtePresent = X86_PTE_PRESENT;
inline constexpr pvops_pte kPteWritable = X86_PTE_WRITABLE;
inline constexpr pvops_pte kPteAccessed = X86_PTE_ACCESSED;
inline constexpr pvops_pte kPteDirty = X86_PTE_DIRTY;
inline constexpr pvops_pte kPteLarge = X86_PTE_LARGE;
inline constexpr pvops_pte kPteFrameMask = X86_PTE_FRAME_MASK;
inline constexpr pvops_pte kTableEntryFlags = kPtePresent | kPteWritable;
inline constexpr uint32_t kPageTablePoolPages = 128;

// A zeroed 4 KiB page from the pool, or nullptr when it is exhausted.
void* AllocPage();
void FreePage(void* page);
uint32_t FreePoolPages();

// The entries that map one VA, from the top level down, and the tables this path created.
struct TablePath {
  uint64_t root_phys;
  uint64_t va;
  pvops_pte* slot[5];  // slot[level] for level 4 (root) .. 1 (the 4 KiB PTE)
  void* created[3];    // parent first
  uint32_t created_level[3];
  uint32_t created_count;
};

// Walks from `root_phys` to the level-1 slot of `va`, creating (and announcing) every missing
// table. Fails on a large page in the way or an exhausted pool.
pvops::Status BuildPath(uint64_t root_phys, uint64_t va, TablePath* path);

// Unlinks the tables the path created (one entry: the topmost created table's parent slot),
// flushes, then releases and frees them. `live` says whether root_phys is the current CR3.
pvops::Status TearDownPath(TablePath* path, bool live);

// The leaf entry for a 4 KiB page at `frame_phys`.
inline pvops_pte LeafPte(uint64_t frame_phys) {
  return (frame_phys & kPteFrameMask) | kPtePresent | kPteWritable;
}

// Whether two entries map the same way: the CPU sets Accessed and Dirty on its own as soon as
// the mapping is used, so those bits never tell whether an update landed.
inline bool SameMapping(pvops_pte a, pvops_pte b) {
  return ((a ^ b) & ~(kPteAccessed | kPteDirty)) == 0;
}

}  // namespace guest
