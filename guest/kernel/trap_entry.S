/* SPDX-License-Identifier: MIT */
/*
 * Interrupt and exception entry: 256 stubs of 16 bytes each (cpu_tables.cc points gate N at
 * trap_stubs + 16 * N). Each stub makes the frame uniform (a zero error code where the CPU
 * pushes none), pushes its vector and joins trap_common, which saves the general registers
 * as a struct TrapFrame (traps.h) and calls trap_dispatch(frame).
 */

#include "kernel/trap_frame_asm.h"

.section .text, "ax"
.p2align 4
.globl trap_stubs
trap_stubs:
vector = 0
.rept 256
  .p2align 4
  /* The vectors for which the CPU pushes an error code. */
  .if vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 || vector == 21 || \
      vector == 29 || vector == 30
  .else
    pushq $0
  .endif
  pushq $vector
  jmp trap_common
  vector = vector + 1
.endr

trap_common:
  SAVE_GENERAL_REGISTERS
  cld
  mov %rsp, %rdi
  call trap_dispatch
  RESTORE_GENERAL_REGISTERS
  jmp pvops_interrupt_return  /* iretq, or the backend's own return */

/* No executable stack: the linker would otherwise warn. */
.section .note.GNU-stack, "", @progbits
