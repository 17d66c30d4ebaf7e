/* SPDX-License-Identifier: MIT */
// A backend whose ops are safe in user mode, with the shape of the native ones: the bench times
// how they are reached, not what they do. Stand-ins (the real instruction faults at CPL3):
//   cli -> nop (popf at CPL3 leaves IF alone, so save/restore keep their real pushf/popf);
//   invlpg (va) -> prefetcht0 (va) (one instruction on an address, a memory clobber);
//   clock_ns keeps its real body: rdtsc scaled by a multiplier and a shift.
#pragma once

#include <stdint.h>

namespace pvops_bench {

// The bodies, inline: what the "inline instruction" mechanism compiles to.
inline uint64_t InlineSaveFlags() {
  uint64_t flags;
  asm volatile("pushfq; popq %0" : "=r"(flags)::"memory");
  return flags;
}
inline void InlineIrqDisable() { asm volatile("nop" ::: "memory"); }
inline void InlineRestoreFlags(uint64_t flags) {
  asm volatile("pushq %0; popfq" ::"r"(flags) : "memory", "cc");
}
inline uint64_t InlineClockNs() {
  uint32_t lo, hi;
  asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
  const uint64_t tsc = (uint64_t{hi} << 32) | lo;
  return static_cast<uint64_t>((static_cast<unsigned __int128>(tsc) * 0x55555555u) >> 32);
}
inline void InlineFlushTlbOne(uint64_t va) { asm volatile("prefetcht0 (%0)" ::"r"(va) : "memory"); }

// The same bodies out of line: a hard-coded backend, what build-time selection links in.
uint64_t DirectSaveFlags();
void DirectIrqDisable();
void DirectRestoreFlags(uint64_t flags);
uint64_t DirectClockNs();
void DirectFlushTlbOne(uint64_t va);

// Fills the real pvops_table's irq, time and mmu slots with the out-of-line bodies above.
void InstallUserBackend();

}  // namespace pvops_bench
