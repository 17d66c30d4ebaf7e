/* SPDX-License-Identifier: MIT */
// x86 architectural facts (Intel SDM) for C++ and assembly alike, shared by the library and the
// reference guest: page geometry, page-table entry bits, and the MSRs either touches. RFLAGS,
// CR0 and CR4 bits come from Linux's uapi <asm/processor-flags.h>, included here so one header
// serves. Plain #defines built with <linux/const.h>'s _AC/_BITULL, which drop the ULL suffix
// in assembly.
//
// Not part of the ABI (include/pvops/): a kernel has its own copy of these facts (Linux's
// msr-index.h, pgtable_types.h), and public macros of the same names would collide with it.
#pragma once

#if defined(__ASSEMBLER__) && !defined(__ASSEMBLY__)
#define __ASSEMBLY__  // what Linux's uapi headers test for assembly
#endif
#include <asm/processor-flags.h>  // X86_EFLAGS_*, X86_CR0_*, X86_CR4_*
#include <linux/const.h>

#define X86_PAGE_SHIFT 12
#define X86_PAGE_SIZE _BITULL(X86_PAGE_SHIFT)

// Page-table entry bits (SDM vol. 3A 4.5), the same at every level but PS.
#define X86_PTE_PRESENT _BITULL(0)
#define X86_PTE_WRITABLE _BITULL(1)
#define X86_PTE_USER _BITULL(2)
#define X86_PTE_WRITE_THROUGH _BITULL(3)
#define X86_PTE_CACHE_DISABLE _BITULL(4)
#define X86_PTE_ACCESSED _BITULL(5)
#define X86_PTE_DIRTY _BITULL(6)
#define X86_PTE_LARGE _BITULL(7)  // PS: a 2 MiB or 1 GiB page, in a PDE or PDPTE
#define X86_PTE_FRAME_MASK _AC(0x000ffffffffff000, ULL)

// MSRs (SDM vol. 4).
#define X86_MSR_IA32_APIC_BASE 0x1b
#define X86_APIC_BASE_BSP _BITULL(8)
#define X86_APIC_BASE_X2APIC_ENABLE _BITULL(10)
#define X86_APIC_BASE_GLOBAL_ENABLE _BITULL(11)
#define X86_APIC_BASE_ADDRESS_MASK X86_PTE_FRAME_MASK
#define X86_MSR_IA32_TSC_DEADLINE 0x6e0
#define X86_MSR_X2APIC_FIRST 0x800  // x2APIC register = 0x800 + xAPIC offset / 16
#define X86_MSR_IA32_EFER 0xc0000080
#define X86_EFER_SCE _BITULL(0)
#define X86_EFER_LME _BITULL(8)
#define X86_EFER_LMA _BITULL(10)
#define X86_EFER_NXE _BITULL(11)
