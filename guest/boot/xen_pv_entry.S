/* SPDX-License-Identifier: MIT */
/*
 * The Xen PV entry of the same image.
 *
 * Xen builds a 64-bit PV domain from the notes below: it maps the image at VIRT_BASE with its
 * own page tables (pfn N at VIRT_BASE + N pages, so the image's usual virt = phys + KERNEL_VIRT_BASE
 * still holds), fills pvops_xen_hypercall_page (named by HYPERCALL_PAGE), and enters ENTRY in
 * ring 3 with rsi = start_info (virtual), a small bootstrap stack, and event upcalls masked.
 * No privileged instruction works here: pvops_early_init makes the table usable first thing,
 * and the library registers the trap table and callbacks when the kernel loads its IDT.
 */
#define __ASSEMBLY__
#include <xen/xen.h>
#include <xen/elfnote.h>
#include <xen/features.h>

#include "kernel/layout.h"

#define PVOPS_ENTRY_XEN_PV 2

.macro XEN_NOTE type, payload:vararg
  .p2align 2
  .long 2f - 1f          /* namesz */
  .long 4f - 3f          /* descsz */
  .long \type
1: .asciz "Xen"
2: .p2align 2
3: \payload
4: .p2align 2
.endm

.section .note.pvguest, "a"
XEN_NOTE XEN_ELFNOTE_GUEST_OS, .asciz "pvguest"
XEN_NOTE XEN_ELFNOTE_XEN_VERSION, .asciz "xen-3.0"
XEN_NOTE XEN_ELFNOTE_LOADER, .asciz "generic"
/* p_paddr holds physical addresses (0x100000...): virtual = p_paddr + VIRT_BASE - PADDR_OFFSET. */
XEN_NOTE XEN_ELFNOTE_VIRT_BASE, .quad KERNEL_VIRT_BASE
XEN_NOTE XEN_ELFNOTE_PADDR_OFFSET, .quad 0
XEN_NOTE XEN_ELFNOTE_ENTRY, .quad xen_pv_entry
XEN_NOTE XEN_ELFNOTE_HYPERCALL_PAGE, .quad pvops_xen_hypercall_page
/* Page tables change only through hypercalls; Xen's writable_page_tables is asked like Linux. */
XEN_NOTE XEN_ELFNOTE_FEATURES, .asciz "!writable_page_tables"
/* A PV dom0 kernel must say it can be one (Xen 4.17 refuses to build dom0 otherwise). */
XEN_NOTE XEN_ELFNOTE_SUPPORTED_FEATURES, .long (1 << XENFEAT_writable_page_tables) | (1 << XENFEAT_dom0)

.section .text, "ax"
.code64
.globl xen_pv_entry
xen_pv_entry:
  cld
  mov %rsi, %r12                 /* start_info: the C++ entry's argument */
  /* Xen zeroed .bss when it loaded the image; zero it again, as the PVH entry does. */
  movabs $__bss_start, %rdi
  movabs $__bss_end, %rcx
  sub %rdi, %rcx
  shr $3, %rcx
  xor %eax, %eax
  rep stosq
  /* Stack 0, whose base reads CPU index 0 (just zeroed); Xen's bootstrap stack is left. */
  movabs $cpu_stacks + CPU_STACK_BYTES, %rsp
  xor %ebp, %ebp
  mov %r12, %rdi
  mov $PVOPS_ENTRY_XEN_PV, %esi
  call kernel_main
1:
  jmp 1b

/* No executable stack: the linker would otherwise warn. */
.section .note.GNU-stack, "", @progbits
