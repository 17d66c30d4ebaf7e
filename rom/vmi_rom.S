/* SPDX-License-Identifier: MIT */
/*
 * The reference VMI ROM, 64-bit form (rom/README.md is its spec).
 *
 * An option ROM the BIOS places in 0xC0000-0xDFFFF: the VMI header of VMI 3.0, a 16-bit POST
 * entry that returns at once, PCI and PnP headers, and 64-bit System V entry points whose bodies
 * run the native instructions and ask the VMware backdoor what only the hypervisor knows.
 * Every address is RIP-relative, so the code runs wherever the guest maps the ROM; the ROM
 * keeps no state (it is read-only once the BIOS is done), so callers pass what it needs.
 *
 * vmi_rom_sign.py sets the length, the PCI image length and both checksums afterwards.
 */
#include "backends/vmi/vmi_abi.h"

#define X86_EFLAGS_IF 0x200
#define X86_CR4_PGE 0x80
#define X2APIC_MSR_BASE 0x800
#define POST_CODE_PORT 0x80
#define ROM_CODE_VERSION_MAJOR 1
#define ROM_CODE_VERSION_MINOR 0

  .section .rom, "ax"

/* ---- Header ------------------------------------------------------------------------------ */

  .code16
rom_start:
  .word VMI_ROM_SIGNATURE
  .byte 0                               /* length in 512-byte blocks: set by the signer */
post_entry:                             /* the BIOS far-calls offset 3 in real mode at POST */
  lret                                  /* nothing to set up before the OS runs */
  .byte 0x90, 0x90, 0x90                /* the rest of the 4-byte entry */
  .byte 0                               /* rom_pad0 */
  .code64
  .long VMI_VROM_SIGNATURE
  .byte VMI_API_MINOR, VMI_API_MAJOR, VMI_REFERENCE_JUMP_SLOTS, 0
  .long 0                               /* virtual_top: the 64-bit form reserves nothing */
  .word 0                               /* reserved2 */
  .word license - rom_start
  .word pci_data - rom_start
  .word pnp_header - rom_start
  .long 0                               /* rom_pad3 */

  /* Entry slots: 5-byte jmp rel32 plus int3 padding, the shape the backend checks. */
  .org VMI_OFFSET_INIT_SLOT, 0
init_slot:
  .byte 0xe9
  .long vmi_init - (init_slot + 5)
  .byte 0xcc, 0xcc, 0xcc
get_reloc_slot:
  .byte 0xe9
  .long vmi_get_reloc - (get_reloc_slot + 5)
  .byte 0xcc, 0xcc, 0xcc
  .org VMI_HEADER_BYTES                 /* fails to assemble if the header grew past 144 */

/* ---- PCI data structure and PnP expansion header ------------------------------------------ */

  .p2align 2
pci_data:
  .long VMI_PCI_SIGNATURE
  .word VMI_PCI_VENDOR_VMWARE
  .word VMI_PCI_DEVICE_VMI
  .word 0                               /* no vital product data */
  .word VMI_PCI_STRUCT_BYTES
  .byte 0                               /* structure revision (PCI 2.x layout) */
  .byte 0x00, 0x80, 0x08                /* class 08/80/00: other system peripheral */
  .word 0                               /* image length: set by the signer */
  .byte ROM_CODE_VERSION_MINOR, ROM_CODE_VERSION_MAJOR
  .byte VMI_PCI_CODE_TYPE_X86
  .byte VMI_PCI_LAST_IMAGE
  .word 0

  .p2align 4
pnp_header:
  .long VMI_PNP_SIGNATURE
  .byte 1                               /* revision */
  .byte VMI_PNP_HEADER_BYTES / 16
  .word 0                               /* no next header */
  .byte 0
  .byte 0                               /* checksum: set by the signer */
  .long 0                               /* device id */
  .word manufacturer - rom_start
  .word product - rom_start
  .byte 0x08, 0x80, 0x00                /* device type: other system peripheral */
  .byte 0                               /* indicators */
  .word 0, 0, 0                         /* no BCV, DV, BEV: the BIOS must not boot from it */
  .word 0
  .word 0

license:
  .asciz "same license as the pvops project"
manufacturer:
  .asciz "pvops project"
product:
  .asciz "reference VMI ROM, 64-bit form"

/* ---- Init and relocations ----------------------------------------------------------------- */

  .p2align 4
/* int init(void): 0 once the backdoor answers, VMI_INIT_NO_HYPERVISOR otherwise. */
vmi_init:
  pushq %rbx
  movl $VMWARE_BACKDOOR_MAGIC, %eax
  movl $0xffffffff, %ebx
  movl $VMWARE_CMD_GETVERSION, %ecx
  movl $VMWARE_BACKDOOR_PORT, %edx
  inl %dx, %eax
  cmpl $VMWARE_BACKDOOR_MAGIC, %ebx
  popq %rbx
  jne 1f
  movl $VMI_INIT_OK, %eax
  ret
1:
  movl $VMI_INIT_NO_HYPERVISOR, %eax
  ret

/* {entry, type} get_reloc(uint32_t call): rax = the entry where the caller mapped us, rdx = type. */
vmi_get_reloc:
  cmpl $VMI_REFERENCE_JUMP_SLOTS, %edi
  jae 1f
  movl %edi, %edi
  leaq reloc_table(%rip), %rcx
  movzbl 4(%rcx,%rdi,8), %edx
  movl (%rcx,%rdi,8), %eax
  testl %eax, %eax
  jz 2f
  leaq rom_start(%rip), %rcx
  addq %rcx, %rax
  ret
1:
  xorl %edx, %edx                       /* VMI_RELOCATION_NONE */
2:
  xorl %eax, %eax
  ret

/* ---- The calls: vmi_call_N is call number N (System V: rdi, rsi, rdx, rcx; result rax) ----- */

  .p2align 4
vmi_call_0:                             /* CPUID(leaf, subleaf, uint32_t out[4]) */
  pushq %rbx
  movq %rdx, %r8
  movl %edi, %eax
  movl %esi, %ecx
  cpuid
  movl %eax, 0(%r8)
  movl %ebx, 4(%r8)
  movl %ecx, 8(%r8)
  movl %edx, 12(%r8)
  popq %rbx
  ret

vmi_call_1:                             /* WRMSR(msr, value) */
  movl %edi, %ecx
  movl %esi, %eax
  movq %rsi, %rdx
  shrq $32, %rdx
  wrmsr
  ret

vmi_call_2:                             /* uint64_t RDMSR(msr) */
  movl %edi, %ecx
  rdmsr
  shlq $32, %rdx
  orq %rdx, %rax
  ret

vmi_call_17:                            /* SetCR3(cr3) */
  movq %rdi, %cr3
  ret

vmi_call_21:                            /* uint64_t GetCR3(void) */
  movq %cr3, %rax
  ret

vmi_call_27:                            /* uint64_t RDTSC(void) */
  rdtsc
  shlq $32, %rdx
  orq %rdx, %rax
  ret

vmi_call_29:                            /* EnableInterrupts(void) */
  sti
  ret

vmi_call_30:                            /* DisableInterrupts(void) */
  cli
  ret

vmi_call_31:                            /* uint64_t GetInterruptMask(void): RFLAGS */
  pushfq
  popq %rax
  ret

vmi_call_32:                            /* SetInterruptMask(rflags): only IF is taken */
  testl $X86_EFLAGS_IF, %edi
  jz 1f
  sti
  ret
1:
  cli
  ret

vmi_call_35:                            /* Halt(void): sti's shadow covers hlt, no lost wake-up */
  sti
  hlt
  ret

vmi_call_37:                            /* Shutdown(code): never returns */
  movl %edi, %eax
  outl %eax, $VMI_REFERENCE_EXIT_PORT
1:
  cli
  hlt
  jmp 1b

vmi_call_38:                            /* SetPxE(uint32_t pte, uint32_t *ptep, flags, va) */
  movl %edi, (%rsi)
  ret

vmi_call_39:                            /* SetPxELong(uint64_t pte, uint64_t *ptep, flags, va) */
  movq %rdi, (%rsi)
  ret

/* UpdatePxE / UpdatePxELong: on real page tables nothing shadows the entry: NOP relocations. */
  .set vmi_nop_40, 1
  .set vmi_nop_41, 1

vmi_call_46:                            /* InvalPage(va) */
  invlpg (%rdi)
  ret

vmi_call_47:                            /* FlushTLB(flags): FLUSH_GLOBAL drops global pages too */
  testl $VMI_FLUSH_GLOBAL, %edi
  jz 1f
  movq %cr4, %rax
  testq $X86_CR4_PGE, %rax
  jz 2f
  movq %rax, %rcx
  andq $~X86_CR4_PGE, %rcx
  movq %rcx, %cr4
  movq %rax, %cr4
  ret
1:
  testl $VMI_FLUSH_TLB, %edi
  jz 3f
2:
  movq %cr3, %rax
  movq %rax, %cr3
3:
  ret

vmi_call_63:                            /* APICWrite(apic_page or 0 for x2APIC, reg, value) */
  andl $0x3f0, %esi                     /* a register offset, never outside the page */
  testq %rdi, %rdi
  jz 1f
  movl %edx, (%rdi,%rsi)
  ret
1:
  mfence                                /* x2APIC writes do not serialize: order earlier stores */
  movl %esi, %ecx
  shrl $4, %ecx
  addl $X2APIC_MSR_BASE, %ecx
  movl %edx, %eax
  shrq $32, %rdx
  wrmsr
  ret

vmi_call_64:                            /* uint64_t APICRead(apic_page or 0, reg) */
  andl $0x3f0, %esi
  testq %rdi, %rdi
  jz 1f
  movl (%rdi,%rsi), %eax
  ret
1:
  movl %esi, %ecx
  shrl $4, %ecx
  addl $X2APIC_MSR_BASE, %ecx
  rdmsr
  shlq $32, %rdx
  orq %rdx, %rax
  ret

vmi_call_65:                            /* IODelay(void): a POST-code port write */
  xorl %eax, %eax
  outb %al, $POST_CODE_PORT
  ret

vmi_call_66:                            /* uint64_t GetCycleFrequency(void): TSC Hz, 0 unknown */
  pushq %rbx
  call backdoor_gethz
  cmpl $VMWARE_GETHZ_UNSUPPORTED, %ebx
  je 1f
  movl %ebx, %ebx
  shlq $32, %rbx
  movl %eax, %eax
  orq %rbx, %rax
  popq %rbx
  ret
1:
  xorl %eax, %eax
  popq %rbx
  ret

vmi_call_67:                            /* uint64_t GetCycleCounter(which): REAL is the TSC */
  testl %edi, %edi
  jnz 1f
  rdtsc
  shlq $32, %rdx
  orq %rdx, %rax
  ret
1:
  xorl %eax, %eax
  ret

vmi_call_73:                            /* SetLazyMode(mode): nothing is deferred in here */
  ret

vmi_call_96:                            /* uint64_t GetApicFrequency(void): Hz, 0 unknown */
  pushq %rbx
  call backdoor_gethz
  cmpl $VMWARE_GETHZ_UNSUPPORTED, %ebx
  je 1f
  movl %ecx, %eax
  popq %rbx
  ret
1:
  xorl %eax, %eax
  popq %rbx
  ret

vmi_call_97:                            /* uint64_t GetHypervisorVersion(void): 0 unknown */
  pushq %rbx
  movl $VMWARE_BACKDOOR_MAGIC, %eax
  movl $0xffffffff, %ebx
  movl $VMWARE_CMD_GETVERSION, %ecx
  movl $VMWARE_BACKDOOR_PORT, %edx
  inl %dx, %eax
  cmpl $VMWARE_BACKDOOR_MAGIC, %ebx
  popq %rbx
  jne 1f
  movl %eax, %eax
  ret
1:
  xorl %eax, %eax
  ret

/* GETHZ: eax = TSC Hz low, ebx = TSC Hz high (or UNSUPPORTED), ecx = APIC Hz. Clobbers rbx:
 * callers save it. */
backdoor_gethz:
  movl $VMWARE_BACKDOOR_MAGIC, %eax
  movl $0xffffffff, %ebx
  movl $VMWARE_CMD_GETHZ, %ecx
  movl $VMWARE_BACKDOOR_PORT, %edx
  inl %dx, %eax
  ret

/* ---- The relocation table: 8 bytes per call number, {u32 offset from rom_start, u8 type} --- */

  .p2align 3
reloc_table:
  .altmacro
  .macro reloc_slot n
    .ifdef vmi_call_\n
      .long vmi_call_\n - rom_start
      .byte VMI_RELOCATION_CALL_REL, 0, 0, 0
    .else
      .ifdef vmi_nop_\n
        .long 0
        .byte VMI_RELOCATION_NOP, 0, 0, 0
      .else
        .long 0
        .byte VMI_RELOCATION_NONE, 0, 0, 0
      .endif
    .endif
  .endm
  .set slot, 0
  .rept VMI_REFERENCE_JUMP_SLOTS
    reloc_slot %slot
    .set slot, slot + 1
  .endr
  .noaltmacro

  .section .note.GNU-stack, "", @progbits
