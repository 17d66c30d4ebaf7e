/* SPDX-License-Identifier: MIT */
// Paging on bare hardware: CR3, page-table entries as plain memory, and TLB flushing on this
// CPU and, by IPI, on others (a shootdown). Remote CPUs flush in the handler of
// core::kVectorTlbFlush and acknowledge through a per-CPU mailbox.
#pragma once

#include <stdint.h>

#include <pvops/pvops.h>

namespace pvops::hw {

// Up to this many pages are flushed one by one; more, or "all", flushes everything.
inline constexpr uint64_t kMaxInvlpgPages = 32;
// How long a shootdown waits for every acknowledgement (an IPI round trip is microseconds on
// hardware, ~0.3 ms nested under TCG; a vCPU may be descheduled for a while).
inline constexpr uint64_t kShootdownTimeoutNs = 1'000'000'000;
// A CPU still silent after this gets the IPI again.
inline constexpr uint64_t kShootdownNudgeNs = 10'000'000;

uint64_t ReadCr3();
void WriteCr3(uint64_t cr3);
void SetPte(pvops_pte* ptep, pvops_pte value);
void UpdatePte(pvops_pte* ptep, uint64_t va, pvops_pte value);
pvops_pte ReadPte(const pvops_pte* ptep);

void FlushTlbLocal();
void FlushTlbOne(uint64_t va);
// Flushes [start, end) on this CPU; end == 0 means everything, global pages included.
void FlushRangeHere(uint64_t start, uint64_t end);
// Flushes [start, end) on every CPU in *cpus: here directly, elsewhere what the table's
// flush_tlb_remote leaves, by shootdown IPI.
[[nodiscard]] pvops_status FlushTlbMulti(const pvops_cpuset* cpus, uint64_t start, uint64_t end);

// For a flush_tlb_remote whose hypervisor flushed every CPU in *cpus but the caller: what is
// left for the kernel's IPIs is the caller, if it was asked. Out of line: an inline function
// the compiler keeps would become a COMDAT section, which a kernel's prelink of the archive
// does not place.
void LeaveOnlyCaller(pvops_cpuset* cpus, uint32_t self);

// A CPU's part of the shootdown, in its area (core/cpu_area.h), on its own cache line.
// `requested` counts the flushes asked of the CPU, `done` the newest it has completed; the
// pending range is the union of what was asked since.
struct alignas(64) ShootdownMailbox {
  uint64_t requested;
  uint64_t done;
  uint8_t range_lock;
  uint64_t start;  // pending range [start, end); empty when end <= start
  uint64_t end;
};
// No request, no pending range: how a CPU's area starts.
void EmptyMailbox(ShootdownMailbox* mb);

// Empties the boot CPU's mailbox and routes core::kVectorTlbFlush to the shootdown handler.
[[nodiscard]] pvops_status SetUpTlbShootdown();

}  // namespace pvops::hw
