// SPDX-License-Identifier: MIT
#include "kernel/paging.h"

#include "kernel/layout.h"

namespace guest {
namespace {

alignas(4096) uint8_t g_pool[kPageTablePoolPages][4096];
uint64_t g_pool_used[kPageTablePoolPages / 64];

uint32_t TableIndex(uint64_t va, uint32_t level) {
  return static_cast<uint32_t>((va >> (12 + 9 * (level - 1))) & 0x1ff);
}

pvops_pte* TableAt(uint64_t table_phys) { return static_cast<pvops_pte*>(PhysToVirt(table_phys)); }

}  // namespace

void* AllocPage() {
  for (uint32_t i = 0; i < kPageTablePoolPages; ++i) {
    uint64_t& word = g_pool_used[i / 64];
    const uint64_t bit = uint64_t{1} << (i % 64);
    if ((word & bit) != 0) continue;
    word |= bit;
    auto* page = reinterpret_cast<uint64_t*>(g_pool[i]);
    for (uint32_t w = 0; w < 512; ++w) page[w] = 0;
    return page;
  }
  return nullptr;
}

void FreePage(void* page) {
  const uint64_t offset = static_cast<uint64_t>(static_cast<uint8_t*>(page) - &g_pool[0][0]);
  const uint64_t i = offset / 4096;
  if (i < kPageTablePoolPages) g_pool_used[i / 64] &= ~(uint64_t{1} << (i % 64));
}

uint32_t FreePoolPages() {
  uint32_t n = 0;
  for (uint32_t i = 0; i < kPageTablePoolPages; ++i)
    n += (g_pool_used[i / 64] >> (i % 64) & 1) == 0;
  return n;
}

pvops::Status BuildPath(uint64_t root_phys, uint64_t va, TablePath* path) {
  *path = TablePath{};
  path->root_phys = root_phys;
  path->va = va;
  uint64_t table_phys = root_phys;
  for (uint32_t level = 4; level >= 1; --level) {
    pvops_pte* table = TableAt(table_phys);
    if (table == nullptr) return PVOPS_ERR_INVALID;
    pvops_pte* slot = &table[TableIndex(va, level)];
    path->slot[level] = slot;
    if (level == 1) break;
    pvops_pte entry = pvops::ReadPte(slot);
    if ((entry & kPtePresent) != 0 && (entry & kPteLarge) != 0) return PVOPS_ERR_INVALID;
    if ((entry & kPtePresent) == 0) {
      void* fresh = AllocPage();
      if (fresh == nullptr) return PVOPS_ERR_NO_RESOURCE;
      const uint64_t fresh_phys = VirtToPhys(fresh);
      const pvops::Status announced = pvops::AllocPt(fresh_phys >> 12, level - 1);
      if (!announced.ok()) {
        FreePage(fresh);
        return announced;
      }
      path->created[path->created_count] = fresh;
      path->created_level[path->created_count] = level - 1;
      ++path->created_count;
      entry = (fresh_phys & kPteFrameMask) | kTableEntryFlags;
      pvops::SetPte(slot, entry);
    }
    table_phys = entry & kPteFrameMask;
  }
  return PVOPS_OK;
}

pvops::Status TearDownPath(TablePath* path, bool live) {
  if (path->created_count == 0) return PVOPS_OK;
  // Cutting the topmost created table's link drops the whole subtree at once.
  pvops_pte* link = path->slot[path->created_level[0] + 1];
  if (live) {
    pvops::UpdatePte(link, path->va, 0);
    pvops::FlushTlbLocal();
  } else {
    pvops::SetPte(link, 0);
  }
  pvops::Status result = PVOPS_OK;
  for (uint32_t i = 0; i < path->created_count; ++i) {
    const pvops::Status released =
        pvops::ReleasePt(VirtToPhys(path->created[i]) >> 12, path->created_level[i]);
    if (!released.ok() && result.ok()) result = released;
    FreePage(path->created[i]);
  }
  path->created_count = 0;
  return result;
}

}  // namespace guest
