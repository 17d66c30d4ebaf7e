/* SPDX-License-Identifier: MIT */
// Per-CPU identity without privileged state: every CPU runs on its own stack, aligned to its
// size, whose lowest bytes hold the CPU's index. Works from interrupt handlers (same stack, or an
// IST stack of the same shape) and later in Xen PV ring 3, where no per-CPU MSR is writable.
#pragma once

#include <stdint.h>

#include "kernel/layout.h"

namespace guest {

struct alignas(kCpuStackBytes) CpuStack {
  uint32_t cpu;    // the logical index, written before the CPU first runs on this stack
  uint32_t magic;  // kStackMagic while the stack has not overflowed into its base
  uint8_t bytes[kCpuStackBytes - 8];
};
inline constexpr uint32_t kStackMagic = 0x5354434b;  // "STCK"

// cpu_stacks[i]: CPU i's kernel stack (the boot CPU starts on cpu_stacks[0]).
// fault_stacks[i]: CPU i's stack for #DF/NMI/#MC, so a blown stack still gets reported.
extern "C" CpuStack cpu_stacks[kMaxCpus];
extern "C" CpuStack fault_stacks[kMaxCpus];

// Stamps both stacks of `cpu` with its index; run before the CPU uses them.
void PrepareCpuStacks(uint32_t cpu);
inline uint64_t StackTop(CpuStack& stack) { return reinterpret_cast<uint64_t>(&stack + 1); }

inline uint32_t ThisCpu() {
  uint64_t rsp;
  asm volatile("mov %%rsp, %0" : "=r"(rsp));
  return reinterpret_cast<const CpuStack*>(rsp & ~(kCpuStackBytes - 1))->cpu;
}

// Whether `cpu`'s stack base still carries its magic (false: it overflowed).
bool CpuStackIntact(uint32_t cpu);

// The memory the library keeps `cpu`'s state in (pvops_set_cpu_area), for CPUs 1..kMaxCpus-1;
// the boot CPU's is the library's own.
void* CpuArea(uint32_t cpu);

}  // namespace guest
