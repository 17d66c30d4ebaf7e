// SPDX-License-Identifier: MIT
// flush_tlb_multi: flush here if asked, post the range to each other CPU's mailbox, send the
// flush IPI, and wait (bounded) until each has flushed. No lock is held across the wait, so two
// CPUs shooting at each other with interrupts off cannot deadlock: a waiting CPU serves its own
// mailbox while it spins.
#include "arch/x86/arch.h"
#include "core/cpu_area.h"
#include "core/runtime.h"
#include "hw/bounded_wait.h"
#include "hw/paging.h"

namespace pvops::hw {
namespace {

constexpr uint64_t kWholeSpace = ~uint64_t{0};  // a mailbox `end` meaning "everything"

using Mailbox = ShootdownMailbox;

// Only CPUs seen online are asked: they have their area.
Mailbox& MailboxOf(uint32_t cpu) { return core::AreaOf(cpu)->shootdown; }

// Held for a handful of instructions with interrupts off; never across a wait.
void LockRange(Mailbox& mb) {
  while (__atomic_exchange_n(&mb.range_lock, 1, __ATOMIC_ACQUIRE) != 0) arch::pause();
}
void UnlockRange(Mailbox& mb) { __atomic_store_n(&mb.range_lock, 0, __ATOMIC_RELEASE); }

void PostRange(Mailbox& mb, uint64_t start, uint64_t end) {
  const uint64_t flags = arch::save_flags();
  arch::cli();
  LockRange(mb);
  if (start < mb.start) mb.start = start;
  if (end > mb.end) mb.end = end;
  UnlockRange(mb);
  arch::restore_flags(flags);
}

void AtomicMax(uint64_t* p, uint64_t value) {
  uint64_t seen = __atomic_load_n(p, __ATOMIC_RELAXED);
  while (seen < value &&
         !__atomic_compare_exchange_n(p, &seen, value, true, __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
  }
}

// Flushes what this CPU's mailbox holds and acknowledges every request seen before taking it.
void ServeMailbox() {
  Mailbox& mb = core::ThisArea().shootdown;
  const uint64_t requested = __atomic_load_n(&mb.requested, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&mb.done, __ATOMIC_ACQUIRE) >= requested) return;
  const uint64_t flags = arch::save_flags();
  arch::cli();
  LockRange(mb);
  const uint64_t start = mb.start;
  const uint64_t end = mb.end;
  mb.start = kWholeSpace;
  mb.end = 0;
  UnlockRange(mb);
  arch::restore_flags(flags);
  if (end > start) FlushRangeHere(start, end == kWholeSpace ? 0 : end);
  // A nested run (the IPI landing while a waiting CPU serves itself) may have acknowledged a
  // newer request already: never move `done` back.
  AtomicMax(&mb.done, requested);
}

void HandleFlushIpi(uint8_t, void*) { ServeMailbox(); }

}  // namespace

void LeaveOnlyCaller(pvops_cpuset* cpus, uint32_t self) {
  const bool self_asked = pvops_cpuset_has(cpus, self) != 0;
  pvops_cpuset_clear(cpus);
  if (self_asked) pvops_cpuset_add(cpus, self);
}

void EmptyMailbox(ShootdownMailbox* mb) {
  mb->requested = mb->done = 0;
  mb->range_lock = 0;
  mb->start = kWholeSpace;
  mb->end = 0;
}

[[nodiscard]] pvops_status SetUpTlbShootdown() {
  // Before other CPUs start: the boot CPU's is the only mailbox.
  EmptyMailbox(&core::ThisArea().shootdown);
  return core::SetIrqHandler(core::kVectorTlbFlush, HandleFlushIpi, nullptr);
}

[[nodiscard]] pvops_status FlushTlbMulti(const pvops_cpuset* cpus, uint64_t start, uint64_t end) {
  if (cpus == nullptr || (end != 0 && end < start)) return PVOPS_ERR_INVALID;
  const uint32_t self = core::ThisCpu();
  pvops_cpuset others;
  pvops_cpuset_clear(&others);
  uint32_t remote = 0;
  for (uint32_t cpu = 0; cpu < PVOPS_MAX_CPUS; ++cpu) {
    if (!pvops_cpuset_has(cpus, cpu) || cpu == self) continue;
    if (core::Cpu(cpu).online == 0) return PVOPS_ERR_INVALID;
    pvops_cpuset_add(&others, cpu);
    ++remote;
  }
  if (end != 0 && end == start) return PVOPS_OK;  // an empty range: nothing to flush anywhere
  if (pvops_cpuset_has(cpus, self)) FlushRangeHere(start, end);
  if (remote == 0) return PVOPS_OK;
  // Through the table: the hypervisor takes what it can flush without an IPI.
  if (const pvops_status st = pvops_flush_tlb_remote(&others, start, end); st != PVOPS_OK)
    return st;
  remote = 0;  // the CPUs left for the IPIs
  for (const uint64_t word : others.bits)
    remote += static_cast<uint32_t>(__builtin_popcountll(word));
  if (remote == 0) return PVOPS_OK;

  const uint64_t mailbox_end = end == 0 ? kWholeSpace : end;
  for (uint32_t cpu = 0; cpu < PVOPS_MAX_CPUS; ++cpu) {
    if (!pvops_cpuset_has(&others, cpu)) continue;
    // The range is posted before the request is counted: whoever sees the count sees it.
    Mailbox& mb = MailboxOf(cpu);
    PostRange(mb, start, mailbox_end);
    __atomic_fetch_add(&mb.requested, 1, __ATOMIC_SEQ_CST);
  }
  // Through the table: a backend that reuses this shootdown may send IPIs its own way.
  if (const pvops_status st = pvops_send_ipi(&others, core::kVectorTlbFlush); st != PVOPS_OK) {
    return st;
  }
  core::Count(core::Counter::kTlbFlushRemote, remote);

  const Deadline give_up(kShootdownTimeoutNs);
  for (uint32_t cpu = 0; cpu < PVOPS_MAX_CPUS; ++cpu) {
    if (!pvops_cpuset_has(&others, cpu)) continue;
    const Mailbox& mb = MailboxOf(cpu);
    // The count as it is now covers our request, and maybe newer ones of other CPUs. Any
    // handler run after our IPI acknowledges them all; if a newer requester's IPI was lost, the
    // periodic nudge below starts one more run.
    const uint64_t wanted = __atomic_load_n(&mb.requested, __ATOMIC_SEQ_CST);
    Deadline nudge(kShootdownNudgeNs);
    while (__atomic_load_n(&mb.done, __ATOMIC_ACQUIRE) < wanted) {
      if (give_up.Expired()) return PVOPS_ERR_TIMEOUT;
      if (nudge.Expired()) {
        pvops_cpuset target;
        pvops_cpuset_clear(&target);
        pvops_cpuset_add(&target, cpu);
        (void)pvops_send_ipi(&target, core::kVectorTlbFlush);
        nudge = Deadline(kShootdownNudgeNs);
      }
      ServeMailbox();
      arch::pause();
    }
  }
  return PVOPS_OK;
}

}  // namespace pvops::hw
