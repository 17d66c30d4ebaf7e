/* SPDX-License-Identifier: MIT */
/*
 * The application processors' start-up code. smp.cc copies ap_trampoline_start..end to the
 * SIPI page (below 1 MiB) and fills the parameter block at its end; a CPU woken by
 * INIT-SIPI-SIPI starts here in real mode with CS = page >> 4, IP = 0.
 * It goes straight to long mode (PAE, the boot CPU's CR3 and EFER, then PE and PG together)
 * and calls params.entry(params.cpu) on params.stack_top.
 * Everything is addressed relative to the page: real-mode offsets from DS = CS, rip-relative
 * in 64-bit code, and two absolute addresses (GDT base, far-jump target) smp.cc patches in.
 */
#include "arch/x86/registers.h"

#define OFFSET(sym) ((sym) - ap_trampoline_start)

.section .rodata.ap_trampoline, "a"
.code16
.globl ap_trampoline_start
ap_trampoline_start:
  cli
  cld
  mov %cs, %ax
  mov %ax, %ds
  lgdtl OFFSET(params_gdt_limit)
  mov %cr4, %eax
  or $X86_CR4_PAE, %eax
  mov %eax, %cr4
  movl OFFSET(params_cr3), %eax
  mov %eax, %cr3
  mov $X86_MSR_IA32_EFER, %ecx
  movl OFFSET(params_efer), %eax
  movl OFFSET(params_efer) + 4, %edx
  wrmsr
  mov %cr0, %eax
  or $(X86_CR0_PE | X86_CR0_PG), %eax
  mov %eax, %cr0
  ljmpl *OFFSET(params_far_offset)

.code64
.globl ap_trampoline_long_mode
ap_trampoline_long_mode:
  mov $0x10, %eax
  mov %eax, %ds
  mov %eax, %es
  mov %eax, %ss
  xor %eax, %eax
  mov %eax, %fs
  mov %eax, %gs
  mov params_stack_top(%rip), %rsp
  xor %ebp, %ebp
  mov params_cpu(%rip), %edi
  mov params_entry(%rip), %rax
  call *%rax
1:
  cli
  hlt
  jmp 1b

.p2align 3
.globl ap_trampoline_gdt
ap_trampoline_gdt:
  .quad 0
  .quad 0x00af9a000000ffff       /* 0x08: 64-bit code */
  .quad 0x00cf92000000ffff       /* 0x10: data */
ap_trampoline_gdt_end:

/* The parameter block: struct ApTrampolineParams in smp.cc, same layout. */
.p2align 3
.globl ap_trampoline_params
ap_trampoline_params:
params_gdt_limit:  .word ap_trampoline_gdt_end - ap_trampoline_gdt - 1
params_gdt_base:   .long 0        /* patched: physical address of ap_trampoline_gdt */
                   .word 0
params_far_offset: .long 0        /* patched: physical address of ap_trampoline_long_mode */
                   .word 0x08
                   .word 0
params_cr3:        .quad 0
params_efer:       .quad 0
params_stack_top:  .quad 0
params_entry:      .quad 0
params_cpu:        .long 0
                   .long 0
.globl ap_trampoline_end
ap_trampoline_end:

/* No executable stack: the linker would otherwise warn. */
.section .note.GNU-stack, "", @progbits
