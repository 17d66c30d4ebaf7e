/* SPDX-License-Identifier: MIT */
/*
 * The Xen PV entry of the same image, and the PV guest's way in and out of its handlers.
 *
 * Xen builds a 64-bit PV domain from the notes below: it maps the image at VIRT_BASE with its
 * own page tables (pfn N at VIRT_BASE + N pages, so the image's usual virt = phys + KERNEL_VIRT_BASE
 * still holds), fills pvops_xen_hypercall_page (named by HYPERCALL_PAGE), and enters ENTRY in
 * ring 3 with rsi = start_info (virtual), a small bootstrap stack, and event upcalls masked.
 * No privileged instruction works here: exceptions and events arrive through the trap table
 * and callbacks registered with Xen (kernel/xen_pv.cc), and leave through HYPERVISOR_iret.
 */
#define __ASSEMBLY__
#include <xen/xen.h>
#include <xen/elfnote.h>
#include <xen/features.h>

#include "kernel/layout.h"
#include "kernel/trap_frame_asm.h"

#define PVOPS_ENTRY_XEN_PV 2
/* The hypercall page's iret stub: jumped to, never called (it pops the frame it finds). */
#define HYPERCALL_IRET (pvops_xen_hypercall_page + __HYPERVISOR_iret * 32)
/* trap_dispatch never sees vectors above 255: these mark the callbacks' frames. */
#define XEN_EVENT_PSEUDO_VECTOR 0x100

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

/*
 * Exceptions: Xen's bounce frame is {rcx, r11, [error], rip, cs, rflags, rsp, ss} on the
 * current stack (a PV kernel takes its faults on the stack it runs on). Popping rcx and r11
 * leaves the frame the CPU itself would have built, so the stubs join the same TrapFrame
 * layout as trap_entry.S. 16 bytes apart: xen_pv.cc points vector N at stubs + 16 * N.
 */
.p2align 4
.globl xen_pv_trap_stubs
xen_pv_trap_stubs:
vector = 0
.rept 32
  .p2align 4
  pop %rcx
  pop %r11
  .if vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 || vector == 21 || \
      vector == 29 || vector == 30
  .else
    pushq $0
  .endif
  pushq $vector
  jmp xen_pv_trap_common
  vector = vector + 1
.endr

/* Back to the interrupted code: HYPERVISOR_iret pops the frame below a flags word and restores
 * the event mask from the frame's IF (0 flags: rcx and r11 come from the frame Xen keeps). */
.macro RESTORE_AND_IRET
  RESTORE_GENERAL_REGISTERS
  pushq $0
  jmp HYPERCALL_IRET
.endm

xen_pv_trap_common:
  SAVE_GENERAL_REGISTERS
  cld
  mov %rsp, %rdi
  call trap_dispatch
  RESTORE_AND_IRET

/*
 * The event callback: {rcx, r11, rip, cs, rflags, rsp, ss}, with events masked by Xen. The
 * library scans and dispatches; iret then restores the mask the interrupted code had, and Xen
 * re-enters here at once if more events came meanwhile.
 */
.p2align 4
.globl xen_pv_event_callback
xen_pv_event_callback:
  pop %rcx
  pop %r11
  pushq $0
  pushq $XEN_EVENT_PSEUDO_VECTOR
  SAVE_GENERAL_REGISTERS
  cld
  call pvops_xen_event_upcall
  RESTORE_AND_IRET

/*
 * The failsafe callback: Xen could not load the guest's segments on the way back. Nothing here
 * changes segments, so this is a bug: report it and end the run.
 */
.p2align 4
.globl xen_pv_failsafe_callback
xen_pv_failsafe_callback:
  and $-16, %rsp
  call xen_pv_failsafe
1:
  jmp 1b

/* No executable stack: the linker would otherwise warn. */
.section .note.GNU-stack, "", @progbits
