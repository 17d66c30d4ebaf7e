// SPDX-License-Identifier: MIT
/* pvops.h in a kernel that defines function-like macros named like the table's ops (Linux has
 * safe_halt() and set_pte()). Every op name is such a macro here, expanding to an identifier
 * that does not exist: a wrapper that let one expand would not compile. */
#define cpuid(...) op_name_macro_expanded
#define read_msr(...) op_name_macro_expanded
#define write_msr(...) op_name_macro_expanded
#define read_msr_safe(...) op_name_macro_expanded
#define write_msr_safe(...) op_name_macro_expanded
#define io_delay(...) op_name_macro_expanded
#define halt(...) op_name_macro_expanded
#define safe_halt(...) op_name_macro_expanded
#define save_flags(...) op_name_macro_expanded
#define restore_flags(...) op_name_macro_expanded
#define disable(...) op_name_macro_expanded
#define enable(...) op_name_macro_expanded
#define eoi(...) op_name_macro_expanded
#define send_ipi(...) op_name_macro_expanded
#define timer_oneshot(...) op_name_macro_expanded
#define register_handler(...) op_name_macro_expanded
#define read_cr3(...) op_name_macro_expanded
#define write_cr3(...) op_name_macro_expanded
#define set_pte(...) op_name_macro_expanded
#define update_pte(...) op_name_macro_expanded
#define read_pte(...) op_name_macro_expanded
#define alloc_pt(...) op_name_macro_expanded
#define release_pt(...) op_name_macro_expanded
#define flush_tlb_local(...) op_name_macro_expanded
#define flush_tlb_one(...) op_name_macro_expanded
#define flush_tlb_multi(...) op_name_macro_expanded
#define lazy_begin(...) op_name_macro_expanded
#define lazy_flush(...) op_name_macro_expanded
#define lazy_end(...) op_name_macro_expanded
#define phys_to_machine(...) op_name_macro_expanded
#define machine_to_phys(...) op_name_macro_expanded
#define clock_ns(...) op_name_macro_expanded
#define wall_clock(...) op_name_macro_expanded
#define tsc_khz(...) op_name_macro_expanded
#define steal_ns(...) op_name_macro_expanded
#define wait(...) op_name_macro_expanded
#define kick(...) op_name_macro_expanded
#define vcpu_is_preempted(...) op_name_macro_expanded
#define call(...) op_name_macro_expanded
#define console_write(...) op_name_macro_expanded
#define shutdown(...) op_name_macro_expanded
#define start_cpu(...) op_name_macro_expanded
#define cpu_init(...) op_name_macro_expanded
#define load_idt(...) op_name_macro_expanded
#define load_gdt(...) op_name_macro_expanded
#define load_tr(...) op_name_macro_expanded
#define read_cr2(...) op_name_macro_expanded
#define interrupt_return(...) op_name_macro_expanded
#define write_gdt_entry(...) op_name_macro_expanded
#define load_tls(...) op_name_macro_expanded
#define set_kernel_stack(...) op_name_macro_expanded
#define write_cr0(...) op_name_macro_expanded
#define write_cr4(...) op_name_macro_expanded
#define read_tpr(...) op_name_macro_expanded
#define write_tpr(...) op_name_macro_expanded

#include "c_abi_probe.h"

uint64_t c_abi_tsc_khz_beside_kernel_macros(void) { return pvops_tsc_khz(); }

/* The kernel group's wrappers beside Linux's load_idt(), write_cr0() and the like. */
uint64_t c_abi_cr2_beside_kernel_macros(void) { return pvops_read_cr2(); }
