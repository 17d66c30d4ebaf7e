/* SPDX-License-Identifier: MIT */
/*
 * xen.h - what a kernel needs beyond pvops.h to run on Xen: the hypercall page it must name in
 * its ELF notes, the entry its event-callback stub calls, the Xen PV boot checks, and the meaning
 * of pvops_info's feature words when the Xen backend is chosen.
 *
 * Plain C11 like pvops.h. Xen's own structures (start_info, trap_info) are passed as opaque
 * pointers so that a kernel does not need Xen's headers to include this one.
 */
#ifndef PVOPS_XEN_H
#define PVOPS_XEN_H

#include <stddef.h>
#include <stdint.h>

#include <pvops/pvops.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- The hypercall page ---------------------------------------------------------------------
 * 4 KiB, page aligned, in its own section (.text.pvops_xen_hypercall_page), defined by the
 * library. A Xen PV kernel names its address in its XEN_ELFNOTE_HYPERCALL_PAGE note, and Xen
 * fills it before the kernel's first instruction. On HVM/PVH the library asks Xen to fill it
 * (the MSR that CPUID leaf base+2 names) during pvops_init. Until it is filled it holds int3. */
extern const unsigned char pvops_xen_hypercall_page[4096];

/* Writes to Xen's console (console_io). Usable before pvops_init on a PV entry (the page is
 * filled at boot); drops the text while the page is not filled. */
void pvops_xen_console_write(const char *text, size_t len);

/* ---- Xen PV boot ---------------------------------------------------------------------------- */

/* The library's Xen PV entry: Xen enters it (XEN_ELFNOTE_ENTRY) in ring 3 with rsi = start_info,
 * and it calls the kernel's 64-bit entry, the symbol pvops_kernel_entry, as
 * entry((uint64_t)start_info, PVOPS_ENTRY_XEN_PV). Its notes (section .note.pvops_xen_pv) also
 * name the hypercall page and the kernel's VIRT_BASE, the symbol pvops_kernel_virt_base; a
 * kernel keeps them with the linker-script fragment pvops-xen-pv.ld, which says more. */
void pvops_xen_pv_entry(void);

/* NULL when `start_info` (the Xen PV start_info, rsi at the PV entry) passes every check the
 * library relies on; otherwise a static sentence saying what is wrong. */
const char *pvops_xen_pv_start_info_problem(const void *start_info);

/* The start_info command line, or "" when it is not NUL-terminated within its field. */
const char *pvops_xen_pv_cmdline(const void *start_info);

/* Leaves the machine before pvops_init has installed the Xen backend (a bad start_info, a
 * panic during early boot): as dom0, PHYSDEVOP_set_iopl and `code` to the exit port 0xf4;
 * otherwise (or if that returns) SCHEDOP_shutdown(reboot). Never returns. */
__attribute__((noreturn)) void pvops_xen_pv_early_exit(const void *start_info, uint32_t code);

/* A kernel that loads its IDT with pvops_load_idt() needs none of this: the library registers
 * its own stubs. Otherwise the kernel's PV entry points: Xen's `struct trap_info` array (terminated
 * by address 0, at most 256 entries before it), the event callback and the failsafe callback
 * (virtual addresses of the kernel's assembly stubs). Registers them for the calling vCPU
 * (set_trap_table, CALLBACKOP_register) and remembers them for the vCPUs start_cpu brings up later.
 * Callable before pvops_init on a PV entry. The table must stay in place while the kernel runs. */
pvops_status pvops_xen_pv_set_entry_points(const void *trap_table, uint64_t event_callback,
                                           uint64_t failsafe_callback);

/* Another virtual window [va, va + bytes) mapping guest-physical [pa, pa + bytes) with 4 KiB
 * pages, besides the env's phys_to_virt. A frame becomes a page table only when no writable
 * mapping of it is left, so alloc_pt makes the frame read-only in every window that maps it
 * (and release_pt writable again). pvops_init adds the bootstrap region Xen mapped (the image
 * among it) itself; a kernel names here any other mapping it keeps. At most 4 windows, the
 * bootstrap region's included. */
pvops_status pvops_xen_pv_add_alias_window(uint64_t va, uint64_t pa, uint64_t bytes);

/* ---- Xen HVM/PVH boot, before pvops_init ------------------------------------------------------
 * A PVH kernel can need Xen before pvops_init: a Xen 4.17 PVH dom0's start info (version 0)
 * carries no memory map. These calls enter Xen by vmcall/vmmcall (by CPU vendor), which Xen
 * takes from any HVM/PVH kernel without a hypercall page. They keep no state and write nothing
 * but their arguments, so they may run before the kernel clears its .bss. HVM/PVH entry only:
 * a PV kernel cannot execute vmcall. Without Xen's CPUID leaves they do nothing. */

/* One memory range as Xen reports it (struct e820entry, packed: 20 bytes), which is also the
 * layout of the x86 boot protocol's e820 table. */
struct pvops_xen_e820_entry {
  uint64_t addr;
  uint64_t size;
  uint32_t type;
} __attribute__((packed));

/* Xen's memory map for this domain (XENMEM_memory_map: for a PVH dom0 the host's layout with
 * the RAM Xen did not give it marked unusable), written to map[0..max). Entries that are empty,
 * wrap around, lie beyond 2^52 or have type 0 are dropped and counted in `why`. PVOPS_OK when
 * at least one RAM range (type 1) remains, with the number kept in *count; otherwise *count is
 * 0 and the status says why: UNSUPPORTED (no Xen HVM interface), the hypercall's error, or
 * BAD_DATA. `why` (may be NULL) receives a sentence either way, "" when nothing was dropped. */
pvops_status pvops_xen_hvm_memory_map(struct pvops_xen_e820_entry *map, uint32_t max,
                                      uint32_t *count, char *why, size_t why_len);

/* Writes to Xen's console (console_io) by vmcall/vmmcall: a PVH kernel's messages before
 * pvops_init (a dom0's only way out when Xen owns the serial port). */
void pvops_xen_hvm_early_console_write(const char *text, size_t len);

/* ---- Events -------------------------------------------------------------------------------- */

/* Xen PV: the event-callback stub (the library's, registered by pvops_load_idt, or the kernel's
 * own registered above) saves the interrupted registers and calls this, events still masked; it
 * scans the pending event channels of this vCPU, clears them and runs the handlers registered
 * (pvops_register_handler) for the vectors bound to them. Events need no EOI. The stub then returns
 * with HYPERVISOR_iret. */
void pvops_xen_event_upcall(void);

/* Xen HVM/PVH: the vector Xen raises for event channels (HVM_PARAM_CALLBACK_IRQ, vector type).
 * The kernel routes it to pvops_handle_interrupt like its other vectors. */
#define PVOPS_XEN_HVM_CALLBACK_VECTOR 0xf3

/* ---- pvops_info when backend == PVOPS_BACKEND_XEN -------------------------------------------
 * version:     major << 16 | minor (XENVER_version).
 * features[0]: XENVER_get_features submap 0 (XENFEAT_* bits).
 * features[1]: PV: start_info flags (SIF_*); HVM: CPUID leaf base+4 EAX (XEN_HVM_CPUID_*).
 * features[2]: the PVOPS_XEN_PATH_* bits below: which paths the backend switched on.
 * features[3]: one of PVOPS_XEN_MODE_*. */
#define PVOPS_XEN_MODE_PV 1u         /* PV guest, hypercall page filled by Xen at boot */
#define PVOPS_XEN_MODE_HVM_PAGE 2u   /* HVM/PVH, hypercall page filled through the MSR */
#define PVOPS_XEN_MODE_HVM_DIRECT 3u /* HVM/PVH, vmcall/vmmcall by vendor (page refused) */

#define PVOPS_XEN_PATH_PVCLOCK (1u << 0)         /* clock_ns from vcpu_time_info */
#define PVOPS_XEN_PATH_EVENTS (1u << 1)          /* IPIs, timer and kick by event channels */
#define PVOPS_XEN_PATH_PV_MMU (1u << 2)          /* mmu_update / mmuext_op / multicall batches */
#define PVOPS_XEN_PATH_PV_IRQ_FLAG (1u << 3)     /* the upcall mask as the interrupt flag */
#define PVOPS_XEN_PATH_RUNSTATE (1u << 4)        /* steal time and vcpu_is_preempted */
#define PVOPS_XEN_PATH_CALLBACK_VECTOR (1u << 5) /* HVM: events through the callback vector */
#define PVOPS_XEN_PATH_DOM0_EXIT (1u << 6)       /* shutdown through the exit port (iopl) */

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* PVOPS_XEN_H */
