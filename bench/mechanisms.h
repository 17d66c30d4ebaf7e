/* SPDX-License-Identifier: MIT */
// The mechanisms the host benchmark compares, each in its own translation unit so that its
// compile flags are its own: direct_call (a hard-coded backend), table_call (pvops.h's wrappers
// built with PVOPS_NO_PATCHING: calls through pvops_table), patched (the same wrappers built as
// patchable sites, rewritten at start by the library's PatchSites) and inline_insn (the
// stand-in instructions themselves).
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>

namespace pvops_bench {

struct Mechanism {
  const char* name;
  // Google Benchmark functions, one per op.
  void (*irq_save_restore)(benchmark::State&);
  void (*clock_ns)(benchmark::State&);
  void (*flush_tlb_one)(benchmark::State&);
};

extern const Mechanism kDirectCall;
extern const Mechanism kTableCall;
extern const Mechanism kPatched;
extern const Mechanism kInlineInsn;

// The page flush_tlb_one's stand-in touches.
uint64_t PageVa();

}  // namespace pvops_bench

// The loop every mechanism's count function runs, and the empty one (its own cost) they are
// measured against. No unrolling: every mechanism gets one loop step per op.
#define PVOPS_BENCH_COUNT_LOOP(n, body) \
  _Pragma("clang loop unroll(disable)") for (uint64_t i = 0; i < (n); ++i) { body; }

// The same bodies `n` times, for callgrind to count (--pvops_count=N): functions named
// pvops_count_OP_MECHANISM, what its --toggle-collect names.
extern "C" {
void pvops_count_empty(uint64_t n);
#define PVOPS_BENCH_DECLARE_COUNTS(mechanism)                \
  void pvops_count_irq_save_restore_##mechanism(uint64_t n); \
  void pvops_count_clock_ns_##mechanism(uint64_t n);         \
  void pvops_count_flush_tlb_one_##mechanism(uint64_t n);
PVOPS_BENCH_DECLARE_COUNTS(direct_call)
PVOPS_BENCH_DECLARE_COUNTS(table_call)
PVOPS_BENCH_DECLARE_COUNTS(patched)
PVOPS_BENCH_DECLARE_COUNTS(inline_insn)
#undef PVOPS_BENCH_DECLARE_COUNTS
}
