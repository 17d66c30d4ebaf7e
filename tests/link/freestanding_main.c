// SPDX-License-Identifier: MIT
/*
 * The smallest "kernel" that links the freestanding archive: it references pvops_init and the
 * table, so the link must resolve everything they reach. Never run; only linked, as a kernel
 * image at -2 GiB and as a static PIE.
 */
#include <pvops/pvops.h>

void pvops_link_entry(void);

void pvops_link_entry(void) {
  static const struct pvops_env env = {.size = sizeof(struct pvops_env),
                                       .entry = PVOPS_ENTRY_NATIVE,
                                       .max_cpus = PVOPS_MAX_CPUS,
                                       .cpu_area_size = PVOPS_CPU_AREA_SIZE};
  if (pvops_init(&env) == PVOPS_OK) pvops_console_write("ok\n", 3);
  pvops_shutdown(pvops_table.time.clock_ns() != 0 ? 0x10 : 0x11);
}
