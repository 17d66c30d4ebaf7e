// TLB flushing on this CPU and, by IPI, on others (a shootdown). Remote CPUs flush in the
// handler of core::kVectorTlbFlush and acknowledge through a per-CPU mailbox.
#pragma once

#include <stdint.h>

#include <pvops/pvops.h>

namespace pvops::native {

// Up to this many pages are flushed one by one; more, or "all", flushes everything.
inline constexpr uint64_t kMaxInvlpgPages = 32;
inline constexpr uint64_t kPageSize = 4096;
// How long a shootdown waits for every acknowledgement (an IPI round trip is microseconds on
// hardware, ~0.3 ms nested under TCG; a vCPU may be descheduled for a while).
inline constexpr uint64_t kShootdownTimeoutNs = 1'000'000'000;
// A CPU still silent after this gets the IPI again.
inline constexpr uint64_t kShootdownNudgeNs = 10'000'000;

// Flushes [start, end) on this CPU; end == 0 means everything, global pages included.
void FlushRangeHere(uint64_t start, uint64_t end);

// For a flush_tlb_remote whose hypervisor flushed every CPU in *cpus but the caller: what is
// left for the kernel's IPIs is the caller, if it was asked. Out of line: an inline function
// the compiler keeps would become a COMDAT section, which a kernel's prelink of the archive
// does not place.
void LeaveOnlyCaller(pvops_cpuset* cpus, uint32_t self);

// Empties every mailbox and routes core::kVectorTlbFlush to the shootdown handler.
pvops_status SetUpTlbShootdown();

}  // namespace pvops::native
