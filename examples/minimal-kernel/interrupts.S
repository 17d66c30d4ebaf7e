/* SPDX-License-Identifier: MIT */
/*
 * Interrupt and exception entry: one stub per vector the kernel handles, all joining one path
 * that saves the registers a C function may change and calls trap_dispatch(frame). The frame
 * is struct trap_frame (interrupts.h); a stub of a vector without a CPU error code pushes 0 in
 * its place, so every frame has the same shape.
 */
#include "interrupts.h"

.macro vector_stub vector, has_error_code
	.text
	.balign 16
trap_stub_\vector:
	.if !\has_error_code
	pushq $0
	.endif
	pushq $\vector
	jmp trap_common
	.section .rodata.trap_stubs, "a"
	.quad \vector, trap_stub_\vector
.endm

	.section .rodata.trap_stubs, "a"
	.balign 8
	.globl trap_stubs
trap_stubs:                             /* pairs of (vector, stub), ended by trap_stubs_end */
	.irp vector, 0, 1, 2, 3, 4, 5, 6, 7, 9, 16, 18, 19, 20, 28, 31
	vector_stub \vector, 0
	.endr
	.irp vector, 8, 10, 11, 12, 13, 14, 17, 21, 29, 30
	vector_stub \vector, 1
	.endr
	.irp vector, VECTOR_SELF_IPI, VECTOR_XEN_CALLBACK, VECTOR_PARK, VECTOR_TLB_FLUSH, VECTOR_SPURIOUS
	vector_stub \vector, 0
	.endr
	.section .rodata.trap_stubs, "a"
	.globl trap_stubs_end
trap_stubs_end:

	.text
trap_common:
	/* On entry 7 quadwords are pushed: with 9 more %rsp is 16-byte aligned for the call. */
	push %rax
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %r8
	push %r9
	push %r10
	push %r11
	mov %rsp, %rdi
	cld
	call trap_dispatch
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rax
	add $16, %rsp                   /* the vector and the error code */
	jmp pvops_interrupt_return      /* iretq, or the hypervisor's way back (Xen PV) */

	.section .note.GNU-stack, "", @progbits
