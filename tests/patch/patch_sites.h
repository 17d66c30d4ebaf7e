/* SPDX-License-Identifier: MIT */
/* The call sites of patch_sites.c, and the test's fake ops (patch_test.cc). */
#pragma once

#include <pvops/pvops.h>

#ifdef __cplusplus
extern "C" {
#endif

uint64_t sites_clock_ns(void);
void sites_flush_tlb_one(uint64_t va);
pvops_status sites_hypercall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
                             uint64_t a4, int64_t *result);
uint64_t sites_irq_save_restore_keeps_registers(uint64_t seed, uint64_t *flags_out);

/* Ops that scribble on every caller-saved register but the result's, as a C function may. */
uint64_t fake_save_flags(void);          /* returns FAKE_FLAGS */
void fake_restore_flags(uint64_t flags); /* records flags in fake_last_restored */
void fake_irq_disable(void);             /* counts in fake_disables */
void fake_irq_enable(void);              /* counts in fake_enables */
extern uint64_t fake_last_restored;
extern uint64_t fake_disables;
extern uint64_t fake_enables;
#define FAKE_FLAGS 0x246u

#ifdef __cplusplus
}
#endif
