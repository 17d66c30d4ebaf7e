// SPDX-License-Identifier: MIT
// memory.*: memory given back to the hypervisor and taken again, checked against the
// hypervisor's own count of the guest's pages.
#include <pvops/pvops.hpp>

#include "kernel/layout.h"
#include "kernel/paging.h"
#include "suite/cases.h"

namespace guest::suite {
namespace {

constexpr uint32_t kBalloonPages = 256;
// 1 MiB of the image's .bss that nothing else uses: on Xen PV the library knows both its
// mappings (the image window and the direct map) and unmaps them while the frames are gone.
alignas(4096) uint8_t g_balloon[kBalloonPages * kPageBytes];
uint64_t g_pfns[kBalloonPages];

uint64_t Pattern(uint32_t page, uint32_t word) { return 0xba1100ull << 40 | page << 16 | word; }

}  // namespace

Result MemoryBalloon() {
  uint64_t before = 0;
  const pvops::Status first(pvops_memory_reservation(&before));
  if (first.code() == PVOPS_ERR_UNSUPPORTED)
    return Result::Skip("no memory reservation on the %s backend here",
                        pvops_backend_name(pvops::Info().backend));
  if (!first.ok()) return Result::Fail("reservation: %s", first.name());
  for (uint32_t i = 0; i < kBalloonPages; ++i)
    g_pfns[i] = VirtToPhys(g_balloon + i * kPageBytes) / kPageBytes;

  const pvops::Status released(pvops_memory_release(g_pfns, kBalloonPages));
  if (!released.ok()) return Result::Fail("releasing %u pages: %s", kBalloonPages, released.name());
  uint64_t during = 0;
  Check(pvops::Status(pvops_memory_reservation(&during)).ok(), "reservation after the release");
  const pvops::Status populated(pvops_memory_populate(g_pfns, kBalloonPages));
  if (!populated.ok())
    return Result::Fail("populating %u pages again: %s", kBalloonPages, populated.name());
  uint64_t after = 0;
  Check(pvops::Status(pvops_memory_reservation(&after)).ok(), "reservation after populating");
  Note("memory.balloon: reservation %lu -> %lu -> %lu pages", before, during, after);
  Check(before - during == kBalloonPages, "the reservation dropped by %lu pages, not %u",
        before - during, kBalloonPages);
  Check(after == before, "the reservation is %lu pages after populating, was %lu", after, before);

  // The pages are memory again: every word written and read back.
  auto* words = reinterpret_cast<volatile uint64_t*>(g_balloon);
  constexpr uint32_t kWords = kPageBytes / sizeof(uint64_t);
  for (uint32_t p = 0; p < kBalloonPages; ++p)
    for (uint32_t w = 0; w < kWords; ++w) words[p * kWords + w] = Pattern(p, w);
  uint32_t wrong = 0;
  for (uint32_t p = 0; p < kBalloonPages; ++p)
    for (uint32_t w = 0; w < kWords; ++w) wrong += words[p * kWords + w] != Pattern(p, w);
  Check(wrong == 0, "%u words of the populated pages did not read back", wrong);
  return CheckResult();
}

}  // namespace guest::suite
