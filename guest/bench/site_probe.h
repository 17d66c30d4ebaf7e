/* SPDX-License-Identifier: MIT */
// What the patched variant's call sites became: the bench marks the code right before a
// wrapper's site (the mark emits no instruction), then finds that site's pvops_sites record
// and reads the bytes pvops_init left there.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace guest::bench {

// Records the address of the code that follows, under `id`, in section bench_site_marks.
#define BENCH_SITE_MARK(id)                                 \
  asm volatile(".pushsection bench_site_marks, \"a\"\n\t"   \
               ".balign 4\n\t.long 1f - .\n\t.long %c0\n\t" \
               ".popsection\n1:" ::"i"(static_cast<uint32_t>(id)))

// The ops whose patched sites the bench marks, one id each.
enum class SiteMark : uint32_t {
  kIrqSaveRestore,
  kHypercall,
  kClockNs,
  kFlushTlbLocal,
  kFlushTlbOne,
  kFlushTlbMulti,
  kSendIpi,
  kEoi,
  kUpdatePte,
  kLazyBegin,
  kLazyEnd,
  kTimerOneshot,
};

// One site: the mark before it, its pvops_ops slot, a short name for the report.
struct SiteSlot {
  SiteMark mark;
  uint32_t slot;
  const char* name;
};

// "NAME:FORM,..." for each slot, FORM what the first site of that slot after its mark holds:
// inline (the op's own instructions), direct (a call of the backend's function or thunk),
// table (a call through pvops_table, or the thunk that does it) or unknown (no site found).
size_t DescribeSites(const SiteSlot* slots, uint32_t count, char* out, size_t size);

}  // namespace guest::bench
