// SPDX-License-Identifier: MIT
// Remote TLB flushes by hypercall: the hypervisor flushes the named VPs itself (and waits for
// running ones), so no IPI round trip. A range of pages becomes HvCallFlushVirtualAddressList
// (a rep call, one element per run of up to 4096 pages); "everything", or a range too long for
// the input page, becomes HvCallFlushVirtualAddressSpace. VP indexes of 64 and above need the
// Ex forms. The calling CPU is left to the caller; CPUs the hypervisor did not flush (no VP
// index, a refused call) stay in the set for the caller's IPIs.
#include "arch/x86/registers.h"
#include "backends/hyperv/hv_hypercall.h"
#include "backends/hyperv/hv_vp_set.h"
#include "backends/hyperv/hyperv.h"
#include "core/runtime.h"
#include "hw/paging.h"

namespace pvops::hyperv {
namespace {

constexpr uint64_t kPagesPerListEntry = kFlushListMaxAdditionalPages + 1;
constexpr uint32_t kHeaderQwords = sizeof(FlushInput) / sizeof(uint64_t);
constexpr uint32_t kHeaderExQwords = sizeof(FlushInputEx) / sizeof(uint64_t);

// The whole range of every address space, global pages included: a remote CPU may run any
// address space, and the native flush of "everything" drops global entries too.
constexpr uint64_t kFlushFlags = kFlushAllVirtualAddressSpaces;

uint64_t PageStart(uint64_t va) { return va & ~(X86_PAGE_SIZE - 1); }
// Pages of [start, end), end > start, counted from the last page: an end in the top page of
// the address space has no page end below 2^64 (rounding it up wrapped to 0).
uint64_t PagesOf(uint64_t start, uint64_t end) {
  return (PageStart(end - 1) - PageStart(start)) / X86_PAGE_SIZE + 1;
}

// Writes the list entries covering [start, end) at `list`; returns how many.
uint32_t WriteList(uint64_t start, uint64_t end, uint64_t* list) {
  uint32_t n = 0;
  uint64_t va = PageStart(start);
  for (uint64_t pages_left = PagesOf(start, end); pages_left != 0;) {
    const uint64_t pages = pages_left < kPagesPerListEntry ? pages_left : kPagesPerListEntry;
    list[n++] = va | (pages - 1);
    va += pages * X86_PAGE_SIZE;
    pages_left -= pages;
  }
  return n;
}

uint64_t ListEntriesFor(uint64_t start, uint64_t end) {
  return (PagesOf(start, end) + kPagesPerListEntry - 1) / kPagesPerListEntry;
}

CallOutcome Flush(const pvops_cpuset* cpus, uint32_t self, const VpTargets& targets, uint64_t start,
                  uint64_t end) {
  ArgPages args;
  uint64_t* in = args.input();
  const bool ex = !targets.FitsMask();
  const uint32_t banks = ex ? targets.BankCount() : 0;
  const uint32_t header = ex ? kHeaderExQwords + banks : kHeaderQwords;
  in[0] = 0;  // address space: ignored with kFlushAllVirtualAddressSpaces
  in[1] = kFlushFlags;
  if (ex) {
    in[2] = kVpSetFormatSparse4k;
    in[3] = targets.valid_banks;
    WriteVpBanks(cpus, self, targets.valid_banks, in + kHeaderExQwords);
  } else {
    in[2] = VpMask(cpus, self);
  }
  const uint64_t capacity = ArgPages::kQwords - header;
  if (end == 0 || ListEntriesFor(start, end) > capacity) {
    return SlowCall(args, ex ? kCallFlushVirtualAddressSpaceEx : kCallFlushVirtualAddressSpace,
                    banks);
  }
  const uint32_t entries = WriteList(start, end, in + header);
  return RepCall(args, ex ? kCallFlushVirtualAddressListEx : kCallFlushVirtualAddressList, entries,
                 banks);
}

}  // namespace

[[nodiscard]] pvops_status FlushTlbRemote(pvops_cpuset* cpus, uint64_t start, uint64_t end) {
  if (cpus == nullptr || (end != 0 && end < start)) return PVOPS_ERR_INVALID;
  core::Count(core::Counter::kTlbFlushRemoteCalls);
  const uint32_t self = core::ThisCpu();
  VpTargets targets;
  switch (GatherVps(cpus, self, &targets)) {
    case GatherResult::kOffline: return PVOPS_ERR_INVALID;
    case GatherResult::kNoVpIndex: return PVOPS_OK;  // the caller's IPIs flush them all
    case GatherResult::kOk: break;
  }
  if (targets.Empty() || (end != 0 && end == start)) return PVOPS_OK;

  const uint32_t path = targets.FitsMask() ? kPathFlushHypercall : kPathFlushEx;
  if (!Enabled(path)) return PVOPS_OK;
  const CallOutcome flushed = Flush(cpus, self, targets, start, end);
  core::Count(core::Counter::kTlbFlushHypercalls);
  if (!flushed.ok()) {
    // The Ex forms need what the plain ones need and more: a refused plain call rules out both.
    DisablePathIfRefused(flushed.status,
                         path == kPathFlushHypercall ? kPathFlushHypercall | kPathFlushEx : path);
    return PVOPS_OK;
  }
  core::Count(core::Counter::kTlbFlushRemote, targets.count);
  hw::LeaveOnlyCaller(cpus, self);
  return PVOPS_OK;
}

}  // namespace pvops::hyperv
