/* SPDX-License-Identifier: MIT */
/*
 * The general registers of a struct TrapFrame (traps.h), pushed and popped in that order by the
 * trap entry (trap_entry.S), the frame layout trap_dispatch reads. Assembler only: clang-format
 * leaves it be.
 */
/* clang-format off */
#ifndef GUEST_KERNEL_TRAP_FRAME_ASM_H
#define GUEST_KERNEL_TRAP_FRAME_ASM_H

.macro SAVE_GENERAL_REGISTERS
  pushq %rax
  pushq %rbx
  pushq %rcx
  pushq %rdx
  pushq %rsi
  pushq %rdi
  pushq %rbp
  pushq %r8
  pushq %r9
  pushq %r10
  pushq %r11
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
.endm

/* Pops them back and drops the vector and error code, leaving the return frame on top. */
.macro RESTORE_GENERAL_REGISTERS
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %r11
  popq %r10
  popq %r9
  popq %r8
  popq %rbp
  popq %rdi
  popq %rsi
  popq %rdx
  popq %rcx
  popq %rbx
  popq %rax
  add $16, %rsp                  /* vector and error code */
.endm

#endif
