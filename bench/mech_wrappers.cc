// SPDX-License-Identifier: MIT
// table_call and patched: the same source, pvops.h's wrappers, built twice (bench/CMakeLists.txt):
// with PVOPS_NO_PATCHING (every wrapper a call through pvops_table) and with PVOPS_PATCHABLE=1
// (every wrapper a site that main() has the library rewrite before anything runs).
#include <pvops/pvops.h>

#include "mechanisms.h"

#if !defined(PVOPS_BENCH_MECHANISM) || !defined(PVOPS_BENCH_MECHANISM_VAR)
#error "built by bench/CMakeLists.txt with the mechanism's name"
#endif

#define PVOPS_BENCH_CAT(a, b) PVOPS_BENCH_CAT2(a, b)
#define PVOPS_BENCH_CAT2(a, b) a##b
#define PVOPS_BENCH_COUNT(op) PVOPS_BENCH_CAT(pvops_count_##op##_, PVOPS_BENCH_MECHANISM)
#define PVOPS_BENCH_STR(x) PVOPS_BENCH_STR2(x)
#define PVOPS_BENCH_STR2(x) #x

#if PVOPS_PATCHABLE
// The sites' code in a section that starts a page, apart from the code that rewrites it: a
// site's page is writable, not executable, for a moment (user_patch.cc checks the rest).
#pragma clang section text = "pvops_bench_sites_text"
asm(".pushsection pvops_bench_sites_text, \"ax\", @progbits\n\t.balign 4096\n\t.popsection");
#endif

namespace pvops_bench {
namespace {

void IrqSaveRestore(benchmark::State& state) {
  for (auto _ : state) pvops_restore_flags(pvops_irq_save());
}
void ClockNs(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(pvops_clock_ns());
}
void FlushTlbOne(benchmark::State& state) {
  const uint64_t va = PageVa();
  for (auto _ : state) pvops_flush_tlb_one(va);
}

}  // namespace
}  // namespace pvops_bench

extern "C" {
void PVOPS_BENCH_COUNT(irq_save_restore)(uint64_t n) {
  PVOPS_BENCH_COUNT_LOOP(n, pvops_restore_flags(pvops_irq_save()))
}
void PVOPS_BENCH_COUNT(clock_ns)(uint64_t n) {
  PVOPS_BENCH_COUNT_LOOP(n, benchmark::DoNotOptimize(pvops_clock_ns()))
}
void PVOPS_BENCH_COUNT(flush_tlb_one)(uint64_t n) {
  const uint64_t va = pvops_bench::PageVa();
  PVOPS_BENCH_COUNT_LOOP(n, pvops_flush_tlb_one(va))
}
}

#if PVOPS_PATCHABLE
#pragma clang section text = ""
#endif

namespace pvops_bench {

const Mechanism PVOPS_BENCH_MECHANISM_VAR = {PVOPS_BENCH_STR(PVOPS_BENCH_MECHANISM), IrqSaveRestore,
                                             ClockNs, FlushTlbOne};

}  // namespace pvops_bench
