/* SPDX-License-Identifier: MIT */
/*
 * The image's entry points: the PVH entry (QEMU -kernel, Xen PVH dom0, any PVH VMM), and
 * kernel_entry64, where the library's 64-bit entries come in (pvguest.ld names it
 * pvops_kernel_entry; Xen PV's is one). Both reach kernel_main with their entry kind.
 *
 * PVH contract: 32-bit protected mode, paging off, flat segments, interrupts off,
 * ebx = physical address of struct hvm_start_info. Nothing else is promised: no stack.
 */
#include <pvops/pvh.h>

#include "arch/x86/registers.h"
#include "kernel/layout.h"

#define PHYS(sym) ((sym) - KERNEL_VIRT_BASE)

#define BOOT_CODE64_SELECTOR 0x08
#define BOOT_DATA_SELECTOR 0x10
#define DEBUG_EXIT_PORT 0xf4
#define PANIC_EXIT_CODE 0x12

/* Where a PVH loader enters, as a 32-bit physical address. */
.section .note.pvguest, "a"
PVOPS_PVH_ENTRY_NOTE PHYS(pvh_entry32)

.section .text.boot32, "ax"
.code32
.globl pvh_entry32
pvh_entry32:
  cli
  cld
  cmpl $PVOPS_PVH_START_MAGIC, (%ebx)
  jne .Lbad_start_info
  mov %ebx, %esi                 /* kept in esi across the switch: the C++ entry's argument */

  /* Long mode is the only mode this kernel runs in: refuse loudly on a CPU without it. */
  mov $0x80000000, %eax
  cpuid
  cmp $0x80000001, %eax
  jb .Lno_long_mode
  mov $0x80000001, %eax
  cpuid
  bt $29, %edx
  jnc .Lno_long_mode

  /* The firmware leaves the 8259 PICs in virtual-wire mode with IRQ0-7 on vectors 8-15, which
   * alias CPU exceptions. Move them to 0x20-0x2f and mask every line: this kernel takes its
   * interrupts from the local APIC only. No pvops op covers the legacy PIC (Linux keeps it
   * outside pv-ops too), and a PV entry has no PIC to touch. */
  mov $0x11, %al                 /* ICW1: edge, cascade, ICW4 follows */
  outb %al, $0x20
  outb %al, $0xa0
  mov $0x20, %al                 /* ICW2: vector bases */
  outb %al, $0x21
  mov $0x28, %al
  outb %al, $0xa1
  mov $0x04, %al                 /* ICW3: slave on IRQ2 */
  outb %al, $0x21
  mov $0x02, %al
  outb %al, $0xa1
  mov $0x01, %al                 /* ICW4: 8086 mode */
  outb %al, $0x21
  outb %al, $0xa1
  mov $0xff, %al                 /* mask everything */
  outb %al, $0x21
  outb %al, $0xa1

  /* PAE, the boot page tables, EFER.LME, then paging: we land in compatibility mode. */
  mov %cr4, %eax
  or $X86_CR4_PAE, %eax
  mov %eax, %cr4
  mov $PHYS(boot_pml4), %eax
  mov %eax, %cr3
  mov $X86_MSR_IA32_EFER, %ecx
  rdmsr
  or $X86_EFER_LME, %eax
  wrmsr
  mov %cr0, %eax
  or $(X86_CR0_PE | X86_CR0_PG), %eax
  mov %eax, %cr0

  lgdt PHYS(boot_gdt_pointer)
  ljmp $BOOT_CODE64_SELECTOR, $PHYS(.Lentry64_identity)

/* Before paging there is no console but the raw ports: say why on COM1 and the 0xe9 debug
 * port (Xen PVH owns COM1), then leave with the fault code so the run never hangs. */
.Lbad_start_info:
  mov $PHYS(bad_start_info_text), %esi
  jmp .Lpanic32
.Lno_long_mode:
  mov $PHYS(no_long_mode_text), %esi
.Lpanic32:
  movb (%esi), %al
  test %al, %al
  jz 1f
  mov $0x3f8, %dx
  outb %al, %dx
  outb %al, $0xe9
  inc %esi
  jmp .Lpanic32
1:
  mov $PANIC_EXIT_CODE, %eax
  outl %eax, $DEBUG_EXIT_PORT
2:
  hlt
  jmp 2b

.code64
.Lentry64_identity:
  /* Still executing at the physical address: move to the linked high-half address. */
  movabs $.Lentry64_high, %rax
  jmp *%rax

.section .text, "ax"
.Lentry64_high:
  mov $BOOT_DATA_SELECTOR, %eax
  mov %eax, %ds
  mov %eax, %es
  mov %eax, %ss
  xor %eax, %eax
  mov %eax, %fs
  mov %eax, %gs
  mov %esi, %edi                 /* zero-extends: the start info's physical address */
  mov $1, %esi                   /* PVOPS_ENTRY_PVH */
  /* fall through */

/* Every entry's 64-bit path, paging on (rdi = boot_info, esi = entry kind, any stack); the
 * library's entries come here too (pvguest.ld names it pvops_kernel_entry). .bss is zeroed
 * first, whatever a loader promised; then the boot CPU runs on stack 0, whose base reads CPU
 * index 0 (just zeroed). */
.globl kernel_entry64
kernel_entry64:
  cld
  mov %rdi, %r12
  mov %esi, %r13d
  movabs $__bss_start, %rdi
  movabs $__bss_end, %rcx
  sub %rdi, %rcx
  shr $3, %rcx
  xor %eax, %eax
  rep stosq
  movabs $cpu_stacks + CPU_STACK_BYTES, %rsp
  xor %ebp, %ebp
  mov %r12, %rdi
  mov %r13d, %esi
  call kernel_main
3:
  jmp 3b

.section .rodata
bad_start_info_text:
  .asciz "pvguest: PVH entry without hvm_start_info magic 0x336ec578\n"
no_long_mode_text:
  .asciz "pvguest: this CPU has no long mode\n"

/* The boot GDT: just what the switch to long mode needs. The runtime GDT (cpu_tables.cc) keeps
 * the same selectors and adds the TSS. */
.section .data
.p2align 3
boot_gdt:
  .quad 0
  .quad 0x00af9a000000ffff       /* 0x08: 64-bit code, DPL 0 */
  .quad 0x00cf92000000ffff       /* 0x10: data, DPL 0 */
boot_gdt_end:
boot_gdt_pointer:
  .word boot_gdt_end - boot_gdt - 1
  .long PHYS(boot_gdt)

/* No executable stack: the linker would otherwise warn. */
.section .note.GNU-stack, "", @progbits
