// SPDX-License-Identifier: MIT
// direct_call and inline_insn: the user backend's functions called directly, and their bodies.
#include "mechanisms.h"
#include "user_backend.h"

namespace pvops_bench {
namespace {

alignas(4096) char g_page[4096];

void IrqSaveRestoreDirect(benchmark::State& state) {
  for (auto _ : state) {
    const uint64_t flags = DirectSaveFlags();
    DirectIrqDisable();
    DirectRestoreFlags(flags);
  }
}
void ClockNsDirect(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(DirectClockNs());
}
void FlushTlbOneDirect(benchmark::State& state) {
  const uint64_t va = PageVa();
  for (auto _ : state) DirectFlushTlbOne(va);
}

void IrqSaveRestoreInline(benchmark::State& state) {
  for (auto _ : state) {
    const uint64_t flags = InlineSaveFlags();
    InlineIrqDisable();
    InlineRestoreFlags(flags);
  }
}
void ClockNsInline(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(InlineClockNs());
}
void FlushTlbOneInline(benchmark::State& state) {
  const uint64_t va = PageVa();
  for (auto _ : state) InlineFlushTlbOne(va);
}

}  // namespace

uint64_t PageVa() { return reinterpret_cast<uint64_t>(g_page); }

}  // namespace pvops_bench

using namespace pvops_bench;

extern "C" {
void pvops_count_empty(uint64_t n) { PVOPS_BENCH_COUNT_LOOP(n, asm volatile("")) }

void pvops_count_irq_save_restore_direct_call(uint64_t n) {
  PVOPS_BENCH_COUNT_LOOP(n, {
    const uint64_t flags = DirectSaveFlags();
    DirectIrqDisable();
    DirectRestoreFlags(flags);
  })
}
void pvops_count_clock_ns_direct_call(uint64_t n) {
  PVOPS_BENCH_COUNT_LOOP(n, benchmark::DoNotOptimize(DirectClockNs()))
}
void pvops_count_flush_tlb_one_direct_call(uint64_t n) {
  const uint64_t va = PageVa();
  PVOPS_BENCH_COUNT_LOOP(n, DirectFlushTlbOne(va))
}

void pvops_count_irq_save_restore_inline_insn(uint64_t n) {
  PVOPS_BENCH_COUNT_LOOP(n, {
    const uint64_t flags = InlineSaveFlags();
    InlineIrqDisable();
    InlineRestoreFlags(flags);
  })
}
void pvops_count_clock_ns_inline_insn(uint64_t n) {
  PVOPS_BENCH_COUNT_LOOP(n, benchmark::DoNotOptimize(InlineClockNs()))
}
void pvops_count_flush_tlb_one_inline_insn(uint64_t n) {
  const uint64_t va = PageVa();
  PVOPS_BENCH_COUNT_LOOP(n, InlineFlushTlbOne(va))
}
}

namespace pvops_bench {

const Mechanism kDirectCall = {"direct_call", IrqSaveRestoreDirect, ClockNsDirect,
                               FlushTlbOneDirect};
const Mechanism kInlineInsn = {"inline_insn", IrqSaveRestoreInline, ClockNsInline,
                               FlushTlbOneInline};

}  // namespace pvops_bench
