/* SPDX-License-Identifier: MIT */
/*
 * The page tables the PVH entry switches on, built at link time (nothing to compute in 32-bit
 * code). Both the identity map (PML4 slot 0) and the direct map (slot 273, 0xffff888000000000)
 * point at one PDPT whose four PDs map the low 4 GiB with 2 MiB pages; the kernel's slot
 * (511, PDPT entry 510 = 0xffffffff80000000) reuses the first PD, i.e. physical 0..1 GiB.
 * These stay the kernel's page tables after boot; the mmu cases add their own below a free slot.
 */
#include "arch/x86/registers.h"
#include "kernel/layout.h"

#define PHYS(sym) ((sym) - KERNEL_VIRT_BASE)
#define TABLE_FLAGS (X86_PTE_PRESENT | X86_PTE_WRITABLE)
#define RAM_2M_FLAGS (X86_PTE_PRESENT | X86_PTE_WRITABLE | X86_PTE_LARGE)
/* 3 GiB and up is the PCI hole (LAPIC, IOAPIC, MMIO BARs): map it uncached. */
#define MMIO_2M_FLAGS (RAM_2M_FLAGS | X86_PTE_WRITE_THROUGH | X86_PTE_CACHE_DISABLE)
#define MMIO_HOLE_START_2M 1536

.section .data.page_tables, "aw"
.p2align 12
.globl boot_pml4
boot_pml4:
  .quad PHYS(boot_pdpt_low4g) + TABLE_FLAGS
  .fill 272, 8, 0
  .quad PHYS(boot_pdpt_low4g) + TABLE_FLAGS          /* slot 273: the direct map */
  .fill 237, 8, 0
  .quad PHYS(boot_pdpt_kernel) + TABLE_FLAGS         /* slot 511: the kernel */

.p2align 12
boot_pdpt_low4g:
  .quad PHYS(boot_pd_low4g) + 0 * X86_PAGE_SIZE + TABLE_FLAGS
  .quad PHYS(boot_pd_low4g) + 1 * X86_PAGE_SIZE + TABLE_FLAGS
  .quad PHYS(boot_pd_low4g) + 2 * X86_PAGE_SIZE + TABLE_FLAGS
  .quad PHYS(boot_pd_low4g) + 3 * X86_PAGE_SIZE + TABLE_FLAGS
  .fill 508, 8, 0

.p2align 12
boot_pdpt_kernel:
  .fill 510, 8, 0
  .quad PHYS(boot_pd_low4g) + TABLE_FLAGS            /* -2 GiB: physical 0..1 GiB */
  .quad 0

.p2align 12
boot_pd_low4g:
  page = 0
  .rept 2048
  .if page < MMIO_HOLE_START_2M
    .quad (page << 21) + RAM_2M_FLAGS
  .else
    .quad (page << 21) + MMIO_2M_FLAGS
  .endif
  page = page + 1
  .endr

/* No executable stack: the linker would otherwise warn. */
.section .note.GNU-stack, "", @progbits
