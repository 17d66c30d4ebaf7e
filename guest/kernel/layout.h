/* SPDX-License-Identifier: MIT */
// The guest's address-space layout, shared by the boot assembly and the C++ runtime.
//
//   0x0000000000000000 + pa   identity map of the low 4 GiB (boot hand-off, AP trampoline)
//   0xffff888000000000 + pa   direct map of the low 4 GiB (what phys_to_virt returns)
//   0xffffc80000000000 ...    free for the mmu cases' test mappings (own top-level slot)
//   0xffffffff80000000 + pa   the kernel image (linked here, loaded at physical 0x100000)
//
// The identity and direct maps share one set of 2 MiB-page tables. The direct map sits at a
// high offset, like Linux's, so physical page 0 has a non-null address and the same layout
// stays usable under Xen PV, whose guests cannot own the low half's first slots freely.
#pragma once

#include "arch/x86/registers.h"

#define KERNEL_VIRT_BASE 0xffffffff80000000
#define KERNEL_PHYS_LOAD 0x100000
#define DIRECT_MAP_BASE 0xffff888000000000
#define DIRECT_MAP_BYTES 0x100000000
#define TEST_VA_BASE 0xffffc80000000000

// Each CPU's stack is this big and aligned to its size; its lowest bytes hold the CPU index
// (see percpu.h), so code finds its CPU from rsp alone.
#define CPU_STACK_BYTES 0x4000
#define MAX_GUEST_CPUS 8

// Where the AP start-up trampoline is copied: a free page below 1 MiB (SIPI vector 0x08).
#define AP_TRAMPOLINE_PHYS 0x8000

#ifndef __ASSEMBLER__
#include <stdint.h>

namespace guest {

inline constexpr uint64_t kKernelVirtBase = KERNEL_VIRT_BASE;
inline constexpr uint64_t kDirectMapBase = DIRECT_MAP_BASE;
inline constexpr uint64_t kDirectMapBytes = DIRECT_MAP_BYTES;
inline constexpr uint64_t kTestVaBase = TEST_VA_BASE;
inline constexpr uint64_t kCpuStackBytes = CPU_STACK_BYTES;
inline constexpr uint32_t kMaxCpus = MAX_GUEST_CPUS;
inline constexpr uint64_t kApTrampolinePhys = AP_TRAMPOLINE_PHYS;
inline constexpr uint64_t kPageBytes = X86_PAGE_SIZE;

// Physical address of a kernel-image or direct-map address; ~0 for anything else.
inline uint64_t VirtToPhys(const void* va) {
  const uint64_t v = reinterpret_cast<uint64_t>(va);
  if (v >= kKernelVirtBase) return v - kKernelVirtBase;
  if (v >= kDirectMapBase && v - kDirectMapBase < kDirectMapBytes) return v - kDirectMapBase;
  return ~uint64_t{0};
}

// The direct-map address of `pa`, or nullptr when `pa` lies outside the direct map.
inline void* PhysToVirt(uint64_t pa) {
  if (pa >= kDirectMapBytes) return nullptr;
  return reinterpret_cast<void*>(kDirectMapBase + pa);
}

}  // namespace guest
#endif
