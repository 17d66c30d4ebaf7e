/* SPDX-License-Identifier: MIT */
/*
 * The VMI ROM interface in its 64-bit form: the header layout and call numbers of VMware's VMI
 * 3.0 (Linux's former arch/x86/include/asm/vmi.h and vmi_time.h), the VMware backdoor numbers
 * (QEMU's hw/i386/vmport.c, Linux's asm/vmware.h), and what this project adds for 64-bit
 * guests (rom/README.md is the spec). Plain #defines: the reference ROM's assembly
 * (rom/vmi_rom.S) includes this file too, so the ROM and the backend cannot disagree.
 */
#ifndef PVOPS_BACKENDS_VMI_VMI_ABI_H
#define PVOPS_BACKENDS_VMI_VMI_ABI_H

/* ---- The option ROM and its VMI header (offsets from the ROM's first byte) ---------------- */

#define VMI_ROM_SIGNATURE 0xaa55 /* bytes 0x55 0xaa */
#define VMI_ROM_BLOCK_BYTES 512  /* the length byte counts these */
#define VMI_ROM_WINDOW_START 0xc0000
#define VMI_ROM_WINDOW_END 0xe0000
#define VMI_ROM_SCAN_STEP 2048

#define VMI_OFFSET_ROM_SIGNATURE 0    /* u16 0xaa55 */
#define VMI_OFFSET_ROM_LENGTH 2       /* u8, 512-byte blocks */
#define VMI_OFFSET_POST_ENTRY 3       /* 4 bytes of 16-bit code: the BIOS calls it at POST */
#define VMI_OFFSET_VROM_SIGNATURE 8   /* u32 "cVmi" */
#define VMI_OFFSET_API_MINOR 12       /* u8 */
#define VMI_OFFSET_API_MAJOR 13       /* u8 */
#define VMI_OFFSET_JUMP_SLOTS 14      /* u8: call numbers 0..jump_slots-1 are answered */
#define VMI_OFFSET_VIRTUAL_TOP 16     /* u32: address space the ROM reserves; 0 in 64-bit */
#define VMI_OFFSET_LICENSE 22         /* u16 offset of a NUL-terminated string */
#define VMI_OFFSET_PCI_HEADER 24      /* u16 offset of the "PCIR" structure */
#define VMI_OFFSET_PNP_HEADER 26      /* u16 offset of the "$PnP" header, 0 if none */
#define VMI_OFFSET_INIT_SLOT 128      /* 8 bytes: a jmp to init */
#define VMI_OFFSET_GET_RELOC_SLOT 136 /* 8 bytes: a jmp to get_reloc */
#define VMI_HEADER_BYTES 144
#define VMI_ENTRY_SLOT_BYTES 8

#define VMI_VROM_SIGNATURE 0x696d5663 /* "cVmi" */
#define VMI_API_MAJOR 3
#define VMI_API_MINOR 0

/* The PCI data structure ("PCIR", PCI Firmware Specification 3.0). */
#define VMI_PCI_SIGNATURE 0x52494350 /* "PCIR" */
#define VMI_PCI_OFFSET_VENDOR 4
#define VMI_PCI_OFFSET_DEVICE 6
#define VMI_PCI_OFFSET_STRUCT_LENGTH 10
#define VMI_PCI_OFFSET_REVISION 12
#define VMI_PCI_OFFSET_CLASS 13         /* 3 bytes: programming interface, subclass, class */
#define VMI_PCI_OFFSET_IMAGE_LENGTH 16  /* u16, 512-byte blocks */
#define VMI_PCI_OFFSET_CODE_REVISION 18 /* u16: the ROM's own version, minor then major */
#define VMI_PCI_OFFSET_CODE_TYPE 20     /* 0 = x86 */
#define VMI_PCI_OFFSET_INDICATOR 21     /* bit 7: last image */
#define VMI_PCI_STRUCT_BYTES 24
#define VMI_PCI_VENDOR_VMWARE 0x15ad
#define VMI_PCI_DEVICE_VMI 0x0801
#define VMI_PCI_CODE_TYPE_X86 0
#define VMI_PCI_LAST_IMAGE 0x80

/* The PnP expansion header ("$PnP", Plug and Play BIOS Specification 1.0A). */
#define VMI_PNP_SIGNATURE 0x506e5024 /* "$PnP" */
#define VMI_PNP_OFFSET_REVISION 4
#define VMI_PNP_OFFSET_LENGTH 5 /* in 16-byte units */
#define VMI_PNP_OFFSET_NEXT 6
#define VMI_PNP_OFFSET_CHECKSUM 9
#define VMI_PNP_OFFSET_MANUFACTURER 14 /* u16 string offset, 0 if none */
#define VMI_PNP_OFFSET_PRODUCT 16      /* u16 string offset, 0 if none */
#define VMI_PNP_OFFSET_BCV 22
#define VMI_PNP_OFFSET_BEV 26
#define VMI_PNP_HEADER_BYTES 32

/* ---- Calls: get_reloc(call) answers where each one lives --------------------------------- */

/* get_reloc's answer: rax = the entry's address where the caller mapped the ROM, rdx = type. */
#define VMI_RELOCATION_NONE 0     /* not provided: keep the native code */
#define VMI_RELOCATION_CALL_REL 1 /* call rax */
#define VMI_RELOCATION_JUMP_REL 2 /* jump to rax (patched iret/sysexit sites only) */
#define VMI_RELOCATION_NOP 3      /* nothing to do: the call may be skipped */

/* VMI 3.0 call numbers (the subset the 64-bit form defines; rom/README.md lists signatures). */
#define VMI_CALL_CPUID 0
#define VMI_CALL_WRMSR 1
#define VMI_CALL_RDMSR 2
#define VMI_CALL_SetCR3 17
#define VMI_CALL_GetCR3 21
#define VMI_CALL_RDTSC 27
#define VMI_CALL_EnableInterrupts 29
#define VMI_CALL_DisableInterrupts 30
#define VMI_CALL_GetInterruptMask 31
#define VMI_CALL_SetInterruptMask 32
#define VMI_CALL_Halt 35
#define VMI_CALL_Shutdown 37
#define VMI_CALL_SetPxE 38
#define VMI_CALL_SetPxELong 39
#define VMI_CALL_UpdatePxE 40
#define VMI_CALL_UpdatePxELong 41
#define VMI_CALL_InvalPage 46
#define VMI_CALL_FlushTLB 47
#define VMI_CALL_APICWrite 63
#define VMI_CALL_APICRead 64
#define VMI_CALL_IODelay 65
#define VMI_CALL_GetCycleFrequency 66
#define VMI_CALL_GetCycleCounter 67
#define VMI_CALL_SetLazyMode 73
/* This project's additions, above every VMI 3.0 number: what the 32-bit API had no call for. */
#define VMI_CALL_GetApicFrequency 96
#define VMI_CALL_GetHypervisorVersion 97
#define VMI_REFERENCE_JUMP_SLOTS 98 /* the reference ROM answers 0..97 */

/* init's answers. */
#define VMI_INIT_OK 0
#define VMI_INIT_NO_HYPERVISOR 1 /* the ROM's hypervisor did not answer */

/* Flags of SetPxE / UpdatePxE (VMI_PAGE_*). */
#define VMI_PAGE_PT 0x01
#define VMI_PAGE_PD 0x02
#define VMI_PAGE_PDP 0x04
#define VMI_PAGE_PML4 0x08
#define VMI_PAGE_CURRENT_AS 0x10 /* the entry maps `va` in the current address space */
#define VMI_PAGE_DEFER 0x20      /* may be queued until a TLB flush or SetLazyMode(0) */

/* FlushTLB flags. */
#define VMI_FLUSH_TLB 0x01
#define VMI_FLUSH_GLOBAL 0x02

/* SetLazyMode modes. */
#define VMI_LAZY_NONE 0
#define VMI_LAZY_MMU 1
#define VMI_LAZY_CPU 2

/* GetCycleCounter counters. */
#define VMI_CYCLES_REAL 0

/* ---- The VMware backdoor (port 0x5658, or vmcall/vmmcall) -------------------------------- */

#define VMWARE_BACKDOOR_MAGIC 0x564d5868 /* "VMXh" */
#define VMWARE_BACKDOOR_PORT 0x5658
#define VMWARE_CMD_GETVERSION 10
#define VMWARE_CMD_GETHZ 45
#define VMWARE_GETHZ_UNSUPPORTED 0xffffffff  /* in EBX */
#define VMWARE_CPUID_TIMING_LEAF_OFFSET 0x10 /* base + 0x10: EAX TSC kHz, EBX APIC kHz, ECX */
#define VMWARE_CPUID_FEATURE_VMMCALL 0x1     /* leaf 0x40000010 ECX */
#define VMWARE_CPUID_FEATURE_VMCALL 0x2

/* The exit device of this project's QEMU machines (docs/guest-protocol.md). */
#define VMI_REFERENCE_EXIT_PORT 0xf4

#endif /* PVOPS_BACKENDS_VMI_VMI_ABI_H */
