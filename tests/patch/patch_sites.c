// SPDX-License-Identifier: MIT
/* Call sites as a kernel compiles them (PVOPS_PATCHABLE, no red zone, no SSE), for
 * patch_test.cc, which rewrites them in this test's own text and runs them. */
#include "patch_sites.h"

uint64_t sites_clock_ns(void) { return pvops_clock_ns(); }

void sites_flush_tlb_one(uint64_t va) { pvops_flush_tlb_one(va); }

pvops_status sites_hypercall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
                             uint64_t a4, int64_t *result) {
  return pvops_hypercall(nr, a0, a1, a2, a3, a4, result);
}

/* Eight values the compiler may keep in caller-saved registers across the irq-flag sites, which
 * promise to change nothing but %rax: a callee that broke the promise changes the sum. */
uint64_t sites_irq_save_restore_keeps_registers(uint64_t seed, uint64_t *flags_out) {
  volatile uint64_t in[8];
  for (int i = 0; i < 8; ++i) in[i] = seed * (uint64_t)(i + 3);
  uint64_t a = in[0], b = in[1], c = in[2], d = in[3], e = in[4], f = in[5], g = in[6], h = in[7];
  const uint64_t flags = pvops_irq_save();
  a += 1, b += 2, c += 3, d += 4, e += 5, f += 6, g += 7, h += 8;
  pvops_restore_flags(flags);
  pvops_irq_enable();
  *flags_out = flags;
  return a ^ (b << 1) ^ (c << 2) ^ (d << 3) ^ (e << 4) ^ (f << 5) ^ (g << 6) ^ (h << 7);
}
