/* SPDX-License-Identifier: MIT */
/*
 * probe_read64(va): one 64-bit load that may fault. trap_dispatch resumes a #PF or #GP at
 * probe_read64_insn at probe_read64_fixup instead of reporting it. Returns {value, faulted}
 * in rax:rdx.
 */
.section .text, "ax"
.globl probe_read64, probe_read64_insn, probe_read64_fixup
probe_read64:
  xor %edx, %edx
probe_read64_insn:
  mov (%rdi), %rax
  ret
probe_read64_fixup:
  xor %eax, %eax
  mov $1, %edx
  ret

/* No executable stack: the linker would otherwise warn. */
.section .note.GNU-stack, "", @progbits
