/* SPDX-License-Identifier: MIT */
/*
 * The Xen PV entry every kernel linked with the library carries: the ELF notes Xen's domain
 * builder reads, and the first instructions, which hand over to the kernel's own 64-bit entry.
 *
 * Xen maps the image at VIRT_BASE with its own page tables (pfn N at VIRT_BASE + N pages),
 * fills pvops_xen_hypercall_page, and enters pvops_xen_pv_entry in ring 3 with rsi = start_info
 * (virtual), a bootstrap stack and event upcalls masked. The kernel's linker script names two
 * symbols (pvops-xen-pv.ld says how): pvops_kernel_entry, called as
 * kernel_entry(start_info, PVOPS_ENTRY_XEN_PV), and pvops_kernel_virt_base, the virtual address
 * of physical 0 in its link. Both have weak defaults here, so that a kernel that is never a Xen
 * PV guest needs neither: an image linked at its physical addresses (0), and an entry that
 * ends the domain with a line saying that the kernel named none.
 */
#define __ASSEMBLY__
#define __XEN_INTERFACE_VERSION__ 0x00040e00
#include <xen/xen.h>
#include <xen/elfnote.h>
#include <xen/features.h>

#include <pvops/pvh.h>

#define PVOPS_ENTRY_XEN_PV 2
#define PVOPS_EXIT_NO_KERNEL_ENTRY 0x12

.weak pvops_kernel_entry
.set pvops_kernel_entry, pvops_xen_pv_no_kernel_entry
/* pvops_kernel_virt_base's default (0) is in xen_pv_boot_default.S: defined here, the
 * assembler would write 0 into the note itself instead of a relocation the kernel's value
 * replaces. */

/* Kept by pvops-xen-pv.ld inside the kernel's PT_NOTE segment. Writable only so that a
 * position-independent kernel may link it: its addresses then take run-time relocations, which
 * a read-only section cannot (such a kernel is no Xen PV guest: Xen needs VIRT_BASE fixed). */
.section .note.pvops_xen_pv, "aw", @note
PVOPS_XEN_ELF_NOTE XEN_ELFNOTE_XEN_VERSION, .asciz "xen-3.0"
PVOPS_XEN_ELF_NOTE XEN_ELFNOTE_LOADER, .asciz "generic"
/* p_paddr holds physical addresses: virtual = p_paddr + VIRT_BASE - PADDR_OFFSET. */
PVOPS_XEN_ELF_NOTE XEN_ELFNOTE_VIRT_BASE, .quad pvops_kernel_virt_base
PVOPS_XEN_ELF_NOTE XEN_ELFNOTE_PADDR_OFFSET, .quad 0
PVOPS_XEN_ELF_NOTE XEN_ELFNOTE_ENTRY, .quad pvops_xen_pv_entry
PVOPS_XEN_ELF_NOTE XEN_ELFNOTE_HYPERCALL_PAGE, .quad pvops_xen_hypercall_page
/* Page tables change only through hypercalls: writable_page_tables is refused, as Linux does. */
PVOPS_XEN_ELF_NOTE XEN_ELFNOTE_FEATURES, .asciz "!writable_page_tables"
/* A PV dom0 kernel must say it can be one (Xen 4.17 refuses to build dom0 otherwise). */
PVOPS_XEN_ELF_NOTE XEN_ELFNOTE_SUPPORTED_FEATURES, .long (1 << XENFEAT_writable_page_tables) | (1 << XENFEAT_dom0)

.section .text.pvops_xen_pv_entry, "ax"
.code64
.globl pvops_xen_pv_entry
pvops_xen_pv_entry:
  cld
  mov %rsi, %r12                 /* start_info, kept for the exit below */
  and $-16, %rsp                 /* the call below leaves the alignment a C entry expects */
  mov %rsi, %rdi
  mov $PVOPS_ENTRY_XEN_PV, %esi
  call pvops_kernel_entry
  /* A kernel entry never returns; one that did is ended like one that is missing. */
  mov %r12, %rdi
  call pvops_xen_pv_no_kernel_entry

/* (start_info): says why on Xen's console and leaves the domain. */
pvops_xen_pv_no_kernel_entry:
  push %rdi                      /* start_info; and the stack aligned for the calls */
  lea no_kernel_entry_text(%rip), %rdi
  mov $no_kernel_entry_text_end - no_kernel_entry_text, %esi
  call pvops_xen_console_write
  pop %rdi
  mov $PVOPS_EXIT_NO_KERNEL_ENTRY, %esi
  jmp pvops_xen_pv_early_exit

.section .rodata.pvops_xen_pv_entry, "a"
no_kernel_entry_text:
  .ascii "pvops: the image names no pvops_kernel_entry, or it returned\n"
no_kernel_entry_text_end:

.section .note.GNU-stack, "", @progbits
