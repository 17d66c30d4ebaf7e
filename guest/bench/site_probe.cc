// SPDX-License-Identifier: MIT
#include "bench/site_probe.h"

#include <pvops/pvops.h>

#include "kernel/format.h"

extern "C" const pvops_site __start_pvops_sites[];
extern "C" const pvops_site __stop_pvops_sites[];

namespace {
struct Mark {
  int32_t offset;  // the marked code, relative to this field
  uint32_t id;
};
}  // namespace

extern "C" const Mark __start_bench_site_marks[];
extern "C" const Mark __stop_bench_site_marks[];

// The library's thunks an unpatched callee-saved site calls (src/core/patch.cc).
extern "C" void pvops_thunk_save_flags();
extern "C" void pvops_thunk_restore_flags();
extern "C" void pvops_thunk_irq_disable();
extern "C" void pvops_thunk_irq_enable();

namespace guest::bench {
namespace {

// A site lies within a few argument moves of its mark.
constexpr uint64_t kMarkReach = 64;

uint64_t Target(const void* field, int32_t offset) {
  return reinterpret_cast<uint64_t>(field) + static_cast<int64_t>(offset);
}

const char* Classify(uint64_t address) {
  const auto* code = reinterpret_cast<const uint8_t*>(address);
  if (code[0] == 0xff && code[1] == 0x15) return "table";  // call *disp32(%rip)
  if (code[0] == 0xe8) {
    int32_t rel;
    __builtin_memcpy(&rel, code + 1, sizeof(rel));
    const uint64_t target = address + 5 + static_cast<int64_t>(rel);
    void (*const thunks[])() = {pvops_thunk_save_flags, pvops_thunk_restore_flags,
                                pvops_thunk_irq_disable, pvops_thunk_irq_enable};
    for (void (*thunk)() : thunks)
      if (target == reinterpret_cast<uint64_t>(thunk)) return "table";
    return "direct";
  }
  return "inline";
}

// The first site of `slot` at or after one of mark `id`'s addresses; 0 when there is none.
uint64_t FindSite(SiteMark id, uint32_t slot) {
  uint64_t best = 0;
  for (const Mark* m = __start_bench_site_marks; m < __stop_bench_site_marks; ++m) {
    if (m->id != static_cast<uint32_t>(id)) continue;
    const uint64_t mark = Target(&m->offset, m->offset);
    for (const pvops_site* s = __start_pvops_sites; s < __stop_pvops_sites; ++s) {
      const uint64_t site = Target(&s->offset, s->offset);
      if (s->slot == slot && site >= mark && site < mark + kMarkReach && (best == 0 || site < best))
        best = site;
    }
    if (best != 0) return best;
  }
  return 0;
}

}  // namespace

size_t DescribeSites(const SiteSlot* slots, uint32_t count, char* out, size_t size) {
  size_t len = 0;
  if (size > 0) out[0] = '\0';
  for (uint32_t i = 0; i < count; ++i) {
    const uint64_t site = FindSite(slots[i].mark, slots[i].slot);
    len += Format(out + len, size - len, "%s%s:%s", i == 0 ? "" : ",", slots[i].name,
                  site == 0 ? "unknown" : Classify(site));
  }
  return len;
}

}  // namespace guest::bench
