/* SPDX-License-Identifier: MIT */
/*
 * What the C translation unit (c_abi.c) reports to the C++ test driver: the layout of the ABI
 * structs as a C compiler sees it, and what it observed calling through the table.
 */
#ifndef PVOPS_TESTS_C_ABI_PROBE_H
#define PVOPS_TESTS_C_ABI_PROBE_H

#include <pvops/pvops.h>

#ifdef __cplusplus
extern "C" {
#endif

struct c_abi_layout {
  size_t size_ops, size_env, size_info, size_candidate, size_cpuset, size_cpu_start,
      size_wall_clock, size_counter;
  size_t off_ops_irq, off_ops_mmu, off_ops_time, off_ops_lock, off_ops_hypercall, off_ops_platform;
  size_t off_env_cmdline, off_env_phys_to_virt, off_env_flags, off_env_map_exec, off_env_max_cpus;
  size_t off_info_reason, off_info_paravirt, off_info_candidates, off_candidate_signature;
  size_t off_mmu_flush_tlb_remote;
  size_t off_ops_kernel, off_kernel_load_gdt;
};

struct c_abi_observed {
  pvops_status init_status;
  uint32_t backend;
  const char *backend_name;
  pvops_cpuid_regs leaf0;
  uint64_t clock_first, clock_second;
  uint64_t flags_before, flags_saved, flags_inside, flags_after;
  pvops_status absent_msr_status;
  uint64_t absent_msr_value;
  pvops_status wall_status;
  pvops_wall_clock wall;
  pvops_status user_clock_status;
  struct pvops_user_clock user_clock;
  uint32_t counters;
  uint64_t cr2;
};

void c_abi_measure_layout(struct c_abi_layout *out);
/* Runs pvops_init with `env`, then calls through the table via the pvops_* wrappers only. */
void c_abi_exercise(const struct pvops_env *env, struct c_abi_observed *out);
/* From c_abi_kernel_macros.c: pvops_tsc_khz() compiled beside macros named like every op. */
uint64_t c_abi_tsc_khz_beside_kernel_macros(void);
uint64_t c_abi_cr2_beside_kernel_macros(void);

#ifdef __cplusplus
}
#endif

#endif
