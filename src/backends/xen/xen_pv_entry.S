/* SPDX-License-Identifier: MIT */
/*
 * How Xen enters a PV kernel's handlers (xen_platform.cc registers these). Xen's bounce frame is
 * {rcx, r11, [error], rip, cs, rflags, rsp, ss} on the kernel's stack: popping rcx and r11
 * leaves the frame the CPU itself would have built, so the kernel's own IDT handlers run as
 * they do natively, and return through pvops_interrupt_return: HYPERVISOR_iret here.
 */
#define __ASSEMBLY__
#define __XEN_INTERFACE_VERSION__ 0x00040e00
#include <xen/xen.h>

/* The hypercall page's iret stub: jumped to, never called (it pops the frame it finds). */
#define PVOPS_XEN_STUB_BYTES 32
#define PVOPS_XEN_IRET (pvops_xen_hypercall_page + __HYPERVISOR_iret * PVOPS_XEN_STUB_BYTES)
/* The failsafe frame's data segments, between r11 and rip: ds, es, fs, gs. */
#define PVOPS_XEN_FAILSAFE_SEGMENTS 32
#define PVOPS_VECTOR_GP 13

.section .text.pvops_xen_pv_entries, "ax"
.code64

/* One entry per exception vector, 9 bytes apart (kPvTrapEntryBytes), each on to the handler
 * the kernel's IDT names for it. */
.globl pvops_xen_pv_trap_entries
pvops_xen_pv_trap_entries:
vector = 0
.rept 32
  pop %rcx
  pop %r11
  jmp *pvops_xen_pv_gate_targets + 8 * vector(%rip)
  vector = vector + 1
  .if . - pvops_xen_pv_trap_entries != 9 * vector
    .error "a trap entry is not 9 bytes"
  .endif
.endr

/*
 * Event channels: {rcx, r11, rip, cs, rflags, rsp, ss}, events masked by Xen. The library
 * scans and runs the handlers; iret restores the mask the interrupted code had, and Xen comes
 * back here at once if more arrived meanwhile. Xen aligned the frame: after the nine pushes
 * the call is on a 16-byte boundary.
 */
.globl pvops_xen_pv_event_entry
pvops_xen_pv_event_entry:
  pop %rcx
  pop %r11
  push %rax
  push %rcx
  push %rdx
  push %rsi
  push %rdi
  push %r8
  push %r9
  push %r10
  push %r11
  cld
  call pvops_xen_event_upcall
  pop %r11
  pop %r10
  pop %r9
  pop %r8
  pop %rdi
  pop %rsi
  pop %rdx
  pop %rcx
  pop %rax
  /* fall through */

/* kernel.interrupt_return: iret flags 0, so rcx and r11 come from the registers as they are. */
.globl pvops_xen_pv_interrupt_return
pvops_xen_pv_interrupt_return:
  pushq $0
  jmp PVOPS_XEN_IRET

/* Xen could not load the kernel's segments on the way back: the kernel hears of it as a #GP
 * (error code 0) at the instruction it was returning to. */
.globl pvops_xen_pv_failsafe_entry
pvops_xen_pv_failsafe_entry:
  pop %rcx
  pop %r11
  add $PVOPS_XEN_FAILSAFE_SEGMENTS, %rsp
  pushq $0
  jmp *pvops_xen_pv_gate_targets + 8 * PVOPS_VECTOR_GP(%rip)

.section .note.GNU-stack, "", @progbits
