// SPDX-License-Identifier: MIT
// mmu.*: page-table writes through the table, each made visible by the flush the API asks for,
// on one CPU and across two; a second address space; a lazy batch; releasing tables; p2m.
// Every case maps its own 2 MiB window above TEST_VA_BASE, in a top-level slot no one else uses.
#include <pvops/pvops.hpp>

#include "kernel/console.h"
#include "kernel/deadline.h"
#include "kernel/layout.h"
#include "kernel/paging.h"
#include "kernel/probe.h"
#include "kernel/smp.h"
#include "suite/cases.h"
#include "suite/mmu_scratch.h"

namespace guest::suite {
namespace {

constexpr uint64_t kWindowBytes = 2 * 1024 * 1024;

uint64_t CaseVa(uint32_t window, uint32_t page = 0) {
  return kTestVaBase + window * kWindowBytes + page * kPageBytes;
}
uint64_t CurrentRoot() { return pvops::ReadCr3() & kPteFrameMask; }
uint64_t ReadVa(uint64_t va) { return *reinterpret_cast<const volatile uint64_t*>(va); }
void WriteVa(uint64_t va, uint64_t value) { *reinterpret_cast<volatile uint64_t*>(va) = value; }

// A read performed on another CPU (static: a timed-out case must not leave it a dead frame).
struct RemoteRead {
  uint64_t va;
  uint64_t value;
};
RemoteRead g_remote_read;

void ReadOnThisCpu(void*) { g_remote_read.value = ReadVa(g_remote_read.va); }

bool ReadOn(uint32_t cpu, uint64_t va, uint64_t* value) {
  g_remote_read = RemoteRead{va, 0};
  if (!PostWork(cpu, ReadOnThisCpu, nullptr) || !WaitForWork(cpu, kNsPerSec)) return false;
  *value = g_remote_read.value;
  return true;
}

#define MMU_TRY(expr, ...)                           \
  do {                                               \
    const pvops::Status st_ = (expr);                \
    if (!st_.ok()) return Result::Fail(__VA_ARGS__); \
  } while (0)

// A step whose failure the case records and carries on past (releasing, the last step).
#define MMU_CHECK(expr, ...)          \
  do {                                \
    const pvops::Status st_ = (expr); \
    Check(st_.ok(), __VA_ARGS__);     \
  } while (0)

}  // namespace

Result MmuSetPte() {
  Scratch scratch;
  const uint64_t va = CaseVa(0);
  DataPage* frame = scratch.NewPage(0);
  pvops::Status st;
  TablePath* path = scratch.NewPath(CurrentRoot(), va, true, &st);
  if (frame == nullptr || path == nullptr) return Result::Fail("setting up: %s", st.name());
  if (path->created_count != 3)
    return Result::Fail("test slot not empty: only %u new tables were needed", path->created_count);
  pvops::SetPte(path->slot[1], LeafPte(frame->phys));
  // The writes below go through this entry: a wrong one stops the case before they fault.
  const pvops_pte back = pvops::ReadPte(path->slot[1]);
  if (back != LeafPte(frame->phys))
    return Result::Fail("read_pte gave 0x%lx after set_pte 0x%lx", back, LeafPte(frame->phys));

  constexpr uint64_t kFirst = 0x5e7b7e0000000001, kLast = 0x5e7b7e00000001ff;
  WriteVa(va, kFirst);
  WriteVa(va + kPageBytes - 8, kLast);
  const auto* direct = static_cast<const volatile uint64_t*>(PhysToVirt(frame->phys));
  Check(direct[0] == kFirst && direct[511] == kLast,
        "direct map of frame 0x%lx reads 0x%lx/0x%lx, wrote 0x%lx/0x%lx", frame->phys, direct[0],
        direct[511], kFirst, kLast);
  MMU_CHECK(scratch.Release(), "releasing the tables: %s", st_.name());
  return CheckResult();
}

Result MmuUpdatePteFlushOne() {
  Scratch scratch;
  const uint64_t va = CaseVa(1);
  DataPage* a = scratch.NewPage(0xa1);
  DataPage* b = scratch.NewPage(0xb1);
  pvops::Status st;
  TablePath* path = scratch.NewPath(CurrentRoot(), va, true, &st);
  if (a == nullptr || b == nullptr || path == nullptr)
    return Result::Fail("setting up: %s", st.name());
  pvops::SetPte(path->slot[1], LeafPte(a->phys));
  const uint64_t fresh = ReadVa(va);
  Check(fresh == a->tag, "fresh mapping reads 0x%lx, not page A", fresh);

  pvops::UpdatePte(path->slot[1], va, LeafPte(b->phys));
  // Architecturally either value may show before the flush; only after it must B show.
  const uint64_t before_flush = ReadVa(va);
  pvops::FlushTlbOne(va);
  const uint64_t after_flush = ReadVa(va);
  Note("before flush_tlb_one the VA read %s", before_flush == a->tag   ? "page A (stale TLB entry)"
                                              : before_flush == b->tag ? "page B"
                                                                       : "neither page");
  Check(after_flush == b->tag, "after update_pte and flush_tlb_one the VA reads 0x%lx, not page B",
        after_flush);
  Check(SameMapping(pvops::ReadPte(path->slot[1]), LeafPte(b->phys)),
        "read_pte does not return the updated entry");
  MMU_CHECK(scratch.Release(), "releasing the tables: %s", st_.name());
  return CheckResult();
}

Result MmuFlushLocal() {
  Scratch scratch;
  constexpr uint32_t kPages = 4;
  DataPage* olds[kPages];
  DataPage* news[kPages];
  for (uint32_t i = 0; i < kPages; ++i) {
    olds[i] = scratch.NewPage(0xc0 + i);
    news[i] = scratch.NewPage(0xd0 + i);
    if (olds[i] == nullptr || news[i] == nullptr) return Result::Fail("page pool exhausted");
  }
  pvops::Status st;
  TablePath* path = scratch.NewPath(CurrentRoot(), CaseVa(2), true, &st);
  if (path == nullptr) return Result::Fail("building tables: %s", st.name());
  for (uint32_t i = 0; i < kPages; ++i) pvops::SetPte(path->slot[1] + i, LeafPte(olds[i]->phys));
  for (uint32_t i = 0; i < kPages; ++i)
    Check(ReadVa(CaseVa(2, i)) == olds[i]->tag, "page %u: fresh mapping wrong", i);
  for (uint32_t i = 0; i < kPages; ++i)
    pvops::UpdatePte(path->slot[1] + i, CaseVa(2, i), LeafPte(news[i]->phys));
  pvops::FlushTlbLocal();
  for (uint32_t i = 0; i < kPages; ++i) {
    const uint64_t seen = ReadVa(CaseVa(2, i));
    Check(seen == news[i]->tag, "page %u reads 0x%lx after flush_tlb_local, expected the new frame",
          i, seen);
  }
  MMU_CHECK(scratch.Release(), "releasing the tables: %s", st_.name());
  return CheckResult();
}

Result MmuFlushMulti() {
  if (!CpuOnline(1)) return Result::Skip("needs 2 vCPUs, have %u", OnlineCpus());
  Scratch scratch;
  scratch.AlsoFlushOnRelease(pvops::CpuSet::Only(1));
  const uint64_t va = CaseVa(3);
  DataPage* a = scratch.NewPage(0xa3);
  DataPage* b = scratch.NewPage(0xb3);
  pvops::Status st;
  TablePath* path = scratch.NewPath(CurrentRoot(), va, true, &st);
  if (a == nullptr || b == nullptr || path == nullptr)
    return Result::Fail("setting up: %s", st.name());
  pvops::SetPte(path->slot[1], LeafPte(a->phys));

  uint64_t seen = 0;
  if (!ReadOn(1, va, &seen)) return Result::Fail("cpu 1 did not read the VA within 1 s");
  Check(seen == a->tag, "cpu 1 reads 0x%lx from the fresh mapping, not A", seen);

  pvops::UpdatePte(path->slot[1], va, LeafPte(b->phys));
  uint64_t before_flush = 0;
  (void)ReadOn(1, va, &before_flush);
  MMU_TRY(pvops::FlushTlbMulti(pvops::CpuSet::Only(1), va, va + kPageBytes),
          "flush_tlb_multi({1}, one page) returned %s", st_.name());
  pvops::FlushTlbOne(va);
  if (!ReadOn(1, va, &seen)) return Result::Fail("cpu 1 did not read the VA within 1 s");
  Note("cpu 1 read %s before the remote flush", before_flush == a->tag ? "A (stale)" : "B");
  Check(seen == b->tag, "cpu 1 reads 0x%lx after flush_tlb_multi, not B", seen);

  // Round two: back to A, one full flush that names both CPUs (the caller included).
  pvops::UpdatePte(path->slot[1], va, LeafPte(a->phys));
  pvops::CpuSet both;
  both.Add(0);
  both.Add(1);
  MMU_TRY(pvops::FlushTlbMulti(both), "flush_tlb_multi({0,1}, all) returned %s", st_.name());
  Check(ReadVa(va) == a->tag, "cpu 0 still reads B after a full multi flush");
  Check(ReadOn(1, va, &seen) && seen == a->tag, "cpu 1 reads 0x%lx after a full multi flush, not A",
        seen);
  MMU_CHECK(scratch.Release(), "releasing the tables: %s", st_.name());
  return CheckResult();
}

Result MmuWriteCr3() {
  Scratch scratch;
  const uint64_t va = CaseVa(4);
  const uint64_t old_cr3 = pvops::ReadCr3();
  const uint64_t old_root = old_cr3 & kPteFrameMask;
  DataPage* a = scratch.NewPage(0xa4);
  DataPage* b = scratch.NewPage(0xb4);
  void* new_root_page = AllocPage();
  if (a == nullptr || b == nullptr || new_root_page == nullptr) {
    if (new_root_page != nullptr) FreePage(new_root_page);
    return Result::Fail("page pool exhausted");
  }
  const uint64_t new_root = VirtToPhys(new_root_page);
  const pvops::Status announced = pvops::AllocPt(new_root >> 12, 4);
  if (!announced.ok()) {
    FreePage(new_root_page);
    return Result::Fail("alloc_pt(level 4) returned %s", announced.name());
  }
  // The new space shares every top-level entry but the test slot, which gets its own tables.
  const auto* old_entries = static_cast<const pvops_pte*>(PhysToVirt(old_root));
  auto* new_entries = static_cast<pvops_pte*>(new_root_page);
  const uint32_t test_slot = static_cast<uint32_t>((kTestVaBase >> 39) & 0x1ff);
  for (uint32_t i = 0; i < 512; ++i) {
    const pvops_pte e = pvops::ReadPte(&old_entries[i]);
    if (i != test_slot && e != 0) pvops::SetPte(&new_entries[i], e);
  }

  pvops::Status st;
  TablePath* in_old = scratch.NewPath(old_root, va, true, &st);
  TablePath* in_new = in_old != nullptr ? scratch.NewPath(new_root, va, false, &st) : nullptr;
  const bool built = Check(in_new != nullptr, "building tables: %s", st.name());
  if (built) {
    pvops::SetPte(in_old->slot[1], LeafPte(a->phys));
    pvops::SetPte(in_new->slot[1], LeafPte(b->phys));
    const uint64_t seen_old = ReadVa(va);
    pvops::WriteCr3(new_root | (old_cr3 & ~kPteFrameMask));
    const uint64_t cr3_in_new = pvops::ReadCr3();
    const uint64_t seen_new = ReadVa(va);
    pvops::WriteCr3(old_cr3);
    const uint64_t seen_back = ReadVa(va);
    Check(seen_old == a->tag, "old space reads 0x%lx, not A", seen_old);
    Check((cr3_in_new & kPteFrameMask) == new_root, "read_cr3 gives 0x%lx after write_cr3(0x%lx)",
          cr3_in_new, new_root);
    Check(seen_new == b->tag, "new space reads 0x%lx, not B", seen_new);
    Check(seen_back == a->tag, "back in the old space the VA reads 0x%lx, not A", seen_back);
    Check(pvops::ReadCr3() == old_cr3, "read_cr3 not restored");
  }
  const pvops::Status released = scratch.Release();
  const pvops::Status root_released = pvops::ReleasePt(new_root >> 12, 4);
  FreePage(new_root_page);
  if (!built) return CheckResult();
  Check(released.ok(), "releasing the tables: %s", released.name());
  Check(root_released.ok(), "release_pt(level 4): %s", root_released.name());
  return CheckResult();
}

Result MmuLazyBatch() {
  Scratch scratch;
  DataPage* initial = scratch.NewPage(0xe0);
  DataPage* targets[kLazyBatchPages];
  for (uint32_t i = 0; i < kLazyBatchPages; ++i) {
    targets[i] = scratch.NewPage(0xf000 + i);
    if (targets[i] == nullptr) return Result::Fail("page pool exhausted at page %u", i);
  }
  pvops::Status st;
  TablePath* path = scratch.NewPath(CurrentRoot(), CaseVa(5), true, &st);
  if (initial == nullptr || path == nullptr) return Result::Fail("setting up: %s", st.name());
  // The same number of updates twice: one by one first, then as one lazy batch; each count
  // is taken before the flush that follows it.
  const uint64_t unbatched_before = pvops_get_counter("hypercalls");
  for (uint32_t i = 0; i < kLazyBatchPages; ++i)
    pvops::SetPte(path->slot[1] + i, LeafPte(initial->phys));
  const uint64_t unbatched = pvops_get_counter("hypercalls") - unbatched_before;
  // One check per loop over the pages, naming the first wrong one and how many were.
  uint32_t wrong = 0, first_wrong = 0;
  for (uint32_t i = 0; i < kLazyBatchPages; ++i)
    if (ReadVa(CaseVa(5, i)) != initial->tag && wrong++ == 0) first_wrong = i;
  Check(wrong == 0, "page %u: fresh mapping wrong (%u of %u pages)", first_wrong, wrong,
        kLazyBatchPages);

  const uint64_t hypercalls = pvops_get_counter("hypercalls");
  const uint64_t batches = pvops_get_counter("lazy_batches");
  const uint64_t batched = pvops_get_counter("lazy_batched_updates");
  {
    pvops::LazyMmu lazy;
    for (uint32_t i = 0; i < kLazyBatchPages; ++i)
      pvops::UpdatePte(path->slot[1] + i, CaseVa(5, i), LeafPte(targets[i]->phys));
  }
  const uint64_t in_batch = pvops_get_counter("hypercalls") - hypercalls;
  pvops::FlushTlbLocal();
  Note("lazy_batch: %u updates: hypercalls +%lu one by one, +%lu in a lazy batch "
       "(lazy_batches +%lu, lazy_batched_updates +%lu)",
       kLazyBatchPages, unbatched, in_batch, pvops_get_counter("lazy_batches") - batches,
       pvops_get_counter("lazy_batched_updates") - batched);
  // Also as counters, so the runner's summary shows the batching without --verbose.
  Print("stat: mmu_updates_one_by_one_hypercalls=%lu mmu_updates_lazy_batch_hypercalls=%lu\n",
        unbatched, in_batch);
  uint32_t stale = 0, first_stale = 0, stale_entries = 0, first_stale_entry = 0;
  uint64_t first_stale_seen = 0;
  for (uint32_t i = 0; i < kLazyBatchPages; ++i) {
    const uint64_t seen = ReadVa(CaseVa(5, i));
    if (seen != targets[i]->tag && stale++ == 0) {
      first_stale = i;
      first_stale_seen = seen;
    }
    if (!SameMapping(pvops::ReadPte(path->slot[1] + i), LeafPte(targets[i]->phys)) &&
        stale_entries++ == 0)
      first_stale_entry = i;
  }
  Check(stale == 0,
        "page %u reads 0x%lx after the batch and a flush, expected 0x%lx (%u of %u pages)",
        first_stale, first_stale_seen, targets[first_stale]->tag, stale, kLazyBatchPages);
  Check(stale_entries == 0, "entry %u not updated after the batch (%u of %u entries)",
        first_stale_entry, stale_entries, kLazyBatchPages);
  MMU_CHECK(scratch.Release(), "releasing the tables: %s", st_.name());
  return CheckResult();
}

Result MmuReleasePt() {
  Scratch scratch;
  const uint64_t va = CaseVa(6);
  DataPage* a = scratch.NewPage(0xa6);
  pvops::Status st;
  TablePath* path = scratch.NewPath(CurrentRoot(), va, true, &st);
  if (a == nullptr || path == nullptr) return Result::Fail("setting up: %s", st.name());
  pvops::SetPte(path->slot[1], LeafPte(a->phys));
  const ProbeResult mapped = probe_read64(va);
  Check(!mapped.faulted && mapped.value == a->tag, "fresh mapping: faulted=%lu value=0x%lx",
        mapped.faulted, mapped.value);
  MMU_TRY(scratch.Release(), "release_pt after unlinking returned %s", st_.name());
  const ProbeResult gone = probe_read64(va);
  Check(gone.faulted, "VA still reads 0x%lx after its tables were unlinked and released",
        gone.value);
  return CheckResult();
}

Result MmuP2m() {
  const bool identity_expected = pvops::Info().entry != PVOPS_ENTRY_XEN_PV;
  void* page = AllocPage();
  if (page == nullptr) return Result::Fail("page pool exhausted");
  const uint64_t samples[] = {0, 0x1000, VirtToPhys(reinterpret_cast<const void*>(&MmuP2m)),
                              VirtToPhys(page) + 0x123};
  FreePage(page);
  for (const uint64_t phys : samples) {
    const uint64_t machine = pvops::PhysToMachine(phys);
    const uint64_t back = pvops::MachineToPhys(machine);
    Check(back == phys, "phys 0x%lx -> machine 0x%lx -> phys 0x%lx", phys, machine, back);
    Check((machine & 0xfff) == (phys & 0xfff), "phys 0x%lx -> machine 0x%lx loses the page offset",
          phys, machine);
    Check(!identity_expected || machine == phys,
          "phys 0x%lx -> machine 0x%lx: identity expected outside Xen PV", phys, machine);
  }
  return CheckResult();
}

}  // namespace guest::suite
