/* SPDX-License-Identifier: MIT */
/*
 * pvh.h - the PVH boot protocol, as a kernel's 32-bit entry meets it: the ELF note that names
 * the entry, and the start info the loader leaves in ebx. The protocol is Xen's (its public
 * header arch-x86/hvm/start_info.h), and QEMU, Firecracker, cloud-hypervisor and Xen itself
 * load kernels by it; these are the same values, so a kernel needs no Xen header for them (the
 * library's build checks them against Xen's). Usable from C and from assembly.
 */
#ifndef PVOPS_PVH_H
#define PVOPS_PVH_H

/* hvm_start_info.magic: "xEn3" with the high bit of the last byte set. */
#define PVOPS_PVH_START_MAGIC 0x336ec578
/* The note type (XEN_ELFNOTE_PHYS32_ENTRY) and owner naming the 32-bit physical entry. */
#define PVOPS_PVH_NOTE_TYPE 18
#define PVOPS_PVH_NOTE_OWNER "Xen"

#ifdef __ASSEMBLER__
/* clang-format off */

/* PVOPS_XEN_ELF_NOTE type, payload: one ELF note of Xen's (owner "Xen"), the form of the PVH
 * note below and of the library's Xen PV notes. */
.macro PVOPS_XEN_ELF_NOTE type, payload:vararg
  .p2align 2
  .long 2f - 1f /* namesz */
  .long 4f - 3f /* descsz */
  .long \type
1: .asciz PVOPS_PVH_NOTE_OWNER
2: .p2align 2
3: \payload
4: .p2align 2
.endm

/* PVOPS_PVH_ENTRY_NOTE phys32_entry: the note, in the section the kernel's PT_NOTE covers. */
.macro PVOPS_PVH_ENTRY_NOTE entry
  PVOPS_XEN_ELF_NOTE PVOPS_PVH_NOTE_TYPE, .long \entry
.endm

/* clang-format on */

#else

#include <stdint.h>

/* struct hvm_start_info, version 0 and 1 (version 1 adds the memory map). */
struct pvops_pvh_start_info {
  uint32_t magic; /* PVOPS_PVH_START_MAGIC */
  uint32_t version;
  uint32_t flags;
  uint32_t nr_modules;
  uint64_t modlist_paddr;  /* physical address of the module list */
  uint64_t cmdline_paddr;  /* physical address of the NUL-terminated command line; 0: none */
  uint64_t rsdp_paddr;     /* physical address of the ACPI RSDP; 0: find it the usual way */
  uint64_t memmap_paddr;   /* version 1: physical address of the memory map */
  uint32_t memmap_entries; /* version 1 */
  uint32_t reserved;
};

#endif /* __ASSEMBLER__ */

#endif /* PVOPS_PVH_H */
