// SPDX-License-Identifier: MIT
/* A C11 client of pvops.h: compiled as C, calling only the header's wrappers. */
#include <stddef.h>

#include "c_abi_probe.h"

_Static_assert(sizeof(pvops_cpuid_regs) == 16, "four 32-bit registers");
_Static_assert(sizeof(pvops_cpuset) == PVOPS_MAX_CPUS / 8, "one bit per CPU");
_Static_assert(sizeof(pvops_wall_clock) == 16, "fixed layout");
_Static_assert(sizeof(struct pvops_ops) % sizeof(void (*)(void)) == 0, "pointers only");
_Static_assert(sizeof(struct pvops_user_clock) == 24, "fixed layout");
_Static_assert(offsetof(struct pvops_user_clock, page) == 8, "fixed layout");
_Static_assert(offsetof(struct pvops_user_clock, page_phys) == 16, "fixed layout");
/* ABI 5 appended the kernel group: every earlier slot keeps its place. */
_Static_assert(offsetof(struct pvops_ops, kernel) == 44 * sizeof(void (*)(void)),
               "the kernel group follows the 44 slots of ABI 4");
_Static_assert(sizeof(struct pvops_kernel_ops) == 12 * sizeof(void (*)(void)), "twelve ops");
_Static_assert(offsetof(struct pvops_kernel_ops, read_cr2) == 3 * sizeof(void (*)(void)),
               "fixed layout");
/* pvops_interrupt_return (arch/x86/interrupt_return.S) jumps through this slot by its offset. */
_Static_assert(offsetof(struct pvops_ops, kernel.interrupt_return) == 48 * sizeof(void (*)(void)),
               "fixed layout");

void c_abi_measure_layout(struct c_abi_layout *out) {
  out->size_ops = sizeof(struct pvops_ops);
  out->size_env = sizeof(struct pvops_env);
  out->size_info = sizeof(struct pvops_info);
  out->size_candidate = sizeof(struct pvops_candidate);
  out->size_cpuset = sizeof(pvops_cpuset);
  out->size_cpu_start = sizeof(pvops_cpu_start);
  out->size_wall_clock = sizeof(pvops_wall_clock);
  out->size_counter = sizeof(struct pvops_counter);
  out->off_ops_irq = offsetof(struct pvops_ops, irq);
  out->off_ops_mmu = offsetof(struct pvops_ops, mmu);
  out->off_ops_time = offsetof(struct pvops_ops, time);
  out->off_ops_lock = offsetof(struct pvops_ops, lock);
  out->off_ops_hypercall = offsetof(struct pvops_ops, hypercall);
  out->off_ops_platform = offsetof(struct pvops_ops, platform);
  out->off_ops_kernel = offsetof(struct pvops_ops, kernel);
  out->off_kernel_load_gdt = offsetof(struct pvops_kernel_ops, load_gdt);
  out->off_env_cmdline = offsetof(struct pvops_env, cmdline);
  out->off_env_phys_to_virt = offsetof(struct pvops_env, phys_to_virt);
  out->off_env_flags = offsetof(struct pvops_env, flags);
  out->off_env_map_exec = offsetof(struct pvops_env, map_exec);
  out->off_env_max_cpus = offsetof(struct pvops_env, max_cpus);
  out->off_info_paravirt = offsetof(struct pvops_info, paravirt);
  out->off_mmu_flush_tlb_remote = offsetof(struct pvops_mmu_ops, flush_tlb_remote);
  out->off_info_reason = offsetof(struct pvops_info, reason);
  out->off_info_candidates = offsetof(struct pvops_info, candidates);
  out->off_candidate_signature = offsetof(struct pvops_candidate, signature);
}

void c_abi_exercise(const struct pvops_env *env, struct c_abi_observed *out) {
  struct pvops_counter counters[PVOPS_MAX_COUNTERS];
  const struct pvops_info *info;
  uint64_t flags;

  out->init_status = pvops_init(env);
  info = pvops_get_info();
  out->backend = info->backend;
  out->backend_name = pvops_backend_name(info->backend);

  pvops_cpuid(0, 0, &out->leaf0);
  out->clock_first = pvops_clock_ns();
  out->clock_second = pvops_clock_ns();

  pvops_irq_enable();
  out->flags_before = pvops_save_flags();
  flags = pvops_irq_save();
  out->flags_saved = flags;
  out->flags_inside = pvops_save_flags();
  pvops_restore_flags(flags);
  out->flags_after = pvops_save_flags();

  out->absent_msr_value = 99;
  out->absent_msr_status = pvops_read_msr_safe(0x4d2, &out->absent_msr_value);
  out->wall_status = pvops_get_wall_clock(&out->wall);
  out->user_clock.kind = 99;
  out->user_clock_status = pvops_get_user_clock(&out->user_clock);
  pvops_console_write("hello from C\n", 13);
  out->counters = pvops_get_counters(counters, PVOPS_MAX_COUNTERS);
  out->cr2 = pvops_read_cr2();
}
