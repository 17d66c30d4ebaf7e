/* SPDX-License-Identifier: MIT */
/*
 * The PVH entry of the minimal kernel: a loader (QEMU -kernel, Xen's PVH domain builder, a
 * PVH VMM) enters `pvh_start32` in 32-bit protected mode, paging off, %ebx holding the
 * physical address of struct hvm_start_info. No stack, no zeroed .bss are promised.
 *
 * The kernel is linked where it is loaded (1 MiB), so its addresses are physical ones. This
 * file zeroes .bss, identity-maps the low 4 GiB with 2 MiB pages, enters long mode and calls
 * kmain(start_info_phys, PVOPS_ENTRY_PVH). The library brings the other entry, Xen PV's.
 */
#include <pvops/pvh.h>

#define PVOPS_ENTRY_PVH 1

#define CR0_PG (1 << 31)
#define CR0_PE (1 << 0)
#define CR4_PAE (1 << 5)
#define MSR_EFER 0xc0000080
#define EFER_LME (1 << 8)

#define PTE_PRESENT 0x1
#define PTE_WRITE 0x2
#define PTE_PWT 0x8
#define PTE_PCD 0x10
#define PTE_HUGE 0x80
#define MMIO_START_GIB 3 /* PCI hole, LAPIC, IOAPIC: uncached */

#define SEL_CODE64 0x08
#define SEL_DATA 0x10

/* Where a PVH loader enters: the physical address of pvh_start32. */
.section .note.minimal_kernel, "a", @note
PVOPS_PVH_ENTRY_NOTE pvh_start32

.section .text.entry32, "ax"
.code32
.globl pvh_start32
pvh_start32:
	cli
	cld
	mov %ebx, %ebp                  /* the start info, kept for kmain */
	cmpl $PVOPS_PVH_START_MAGIC, (%ebx)
	jne no_start_info

	/* .bss first: the page tables and the stack live there. */
	mov $__bss_start, %edi
	mov $__bss_end, %ecx
	sub %edi, %ecx
	shr $2, %ecx
	xor %eax, %eax
	rep stosl

	/* The legacy 8259s deliver IRQ 0-7 on vectors 8-15, the CPU's exception vectors: move
	 * them to 0x20-0x2f and mask every line; this kernel takes interrupts from the local APIC. */
	mov $0x11, %al
	out %al, $0x20
	out %al, $0xa0
	mov $0x20, %al
	out %al, $0x21
	mov $0x28, %al
	out %al, $0xa1
	mov $4, %al
	out %al, $0x21
	mov $2, %al
	out %al, $0xa1
	mov $1, %al
	out %al, $0x21
	out %al, $0xa1
	mov $0xff, %al
	out %al, $0x21
	out %al, $0xa1

	/* One PML4 entry, one PDPT with four entries, four PDs of 512 huge pages each. */
	movl $(pdpt + PTE_PRESENT + PTE_WRITE), pml4
	xor %ecx, %ecx
fill_pdpt:
	mov %ecx, %eax
	shl $12, %eax
	add $(page_dirs + PTE_PRESENT + PTE_WRITE), %eax
	mov %eax, pdpt(, %ecx, 8)
	inc %ecx
	cmp $4, %ecx
	jne fill_pdpt
	xor %ecx, %ecx                  /* the 2 MiB page number, 0..2047 */
fill_page_dirs:
	mov %ecx, %eax
	shl $21, %eax
	or $(PTE_PRESENT + PTE_WRITE + PTE_HUGE), %eax
	cmp $(MMIO_START_GIB * 512), %ecx
	jb 1f
	or $(PTE_PCD + PTE_PWT), %eax
1:	mov %eax, page_dirs(, %ecx, 8)  /* the entry's high half stays 0: below 4 GiB */
	inc %ecx
	cmp $2048, %ecx
	jne fill_page_dirs

	/* PAE, the tables, long mode enabled, then paging: compatibility mode until the far jump. */
	mov %cr4, %eax
	or $CR4_PAE, %eax
	mov %eax, %cr4
	mov $pml4, %eax
	mov %eax, %cr3
	mov $MSR_EFER, %ecx
	rdmsr
	or $EFER_LME, %eax
	wrmsr
	mov %cr0, %eax
	or $(CR0_PG | CR0_PE), %eax
	mov %eax, %cr0
	lgdt gdt_pointer
	ljmp $SEL_CODE64, $long_mode

/* Nothing to print with yet but the raw ports (COM1, and 0xe9 where Xen owns COM1): say why,
 * then leave through isa-debug-exit with the fault code (0x12) so the run ends here. */
no_start_info:
	mov $no_start_info_text, %esi
1:	lodsb
	test %al, %al
	jz 2f
	mov $0x3f8, %dx
	out %al, %dx
	out %al, $0xe9
	jmp 1b
2:	mov $0x12, %eax
	out %eax, $0xf4
3:	hlt
	jmp 3b

.code64
long_mode:
	mov $SEL_DATA, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	xor %eax, %eax
	mov %eax, %fs
	mov %eax, %gs
	mov $boot_stack_top, %rsp
	mov %ebp, %edi                  /* zero-extended: kmain(start_info_phys, PVOPS_ENTRY_PVH) */
	mov $PVOPS_ENTRY_PVH, %esi
	xor %ebp, %ebp
	call kmain
4:	cli
	hlt
	jmp 4b

.section .rodata
no_start_info_text:
	.asciz "minimal-kernel: entered without hvm_start_info (magic 0x336ec578)\n"

.section .data
.balign 8
gdt:
	.quad 0
	.quad 0x00af9a000000ffff        /* SEL_CODE64: long mode, ring 0 */
	.quad 0x00cf92000000ffff        /* SEL_DATA */
gdt_end:
gdt_pointer:
	.word gdt_end - gdt - 1
	.long gdt

.section .bss
.balign 4096
pml4: .skip 4096
pdpt: .skip 4096
page_dirs: .skip 4 * 4096
.balign 16
boot_stack: .skip 16384
boot_stack_top:

.section .note.GNU-stack, "", @progbits
