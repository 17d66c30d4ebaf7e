// What boot-time selection costs on a hot path: each op reached three ways, in user mode on the
// host. Names are OP/MECHANISM, MECHANISM one of direct_call, pvops_table_call, inline_insn;
// the run ends with pvops_table_call / direct_call per op (ratio_reporter.h).
#include <benchmark/benchmark.h>
#include <pvops/pvops.h>

#include <iostream>

#include "ratio_reporter.h"
#include "user_backend.h"

namespace pvops_bench {
namespace {

constexpr uint64_t kPage = 0x1000;
alignas(4096) char g_page[kPage];
uint64_t PageVa() { return reinterpret_cast<uint64_t>(g_page); }

void IrqSaveRestoreDirect(benchmark::State& state) {
  for (auto _ : state) {
    const uint64_t flags = DirectSaveFlags();
    DirectIrqDisable();
    DirectRestoreFlags(flags);
  }
}
void IrqSaveRestoreTable(benchmark::State& state) {
  for (auto _ : state) pvops_restore_flags(pvops_irq_save());
}
void IrqSaveRestoreInline(benchmark::State& state) {
  for (auto _ : state) {
    const uint64_t flags = InlineSaveFlags();
    InlineIrqDisable();
    InlineRestoreFlags(flags);
  }
}

void ClockNsDirect(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(DirectClockNs());
}
void ClockNsTable(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(pvops_clock_ns());
}
void ClockNsInline(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(InlineClockNs());
}

void FlushTlbOneDirect(benchmark::State& state) {
  const uint64_t va = PageVa();
  for (auto _ : state) DirectFlushTlbOne(va);
}
void FlushTlbOneTable(benchmark::State& state) {
  const uint64_t va = PageVa();
  for (auto _ : state) pvops_flush_tlb_one(va);
}
void FlushTlbOneInline(benchmark::State& state) {
  const uint64_t va = PageVa();
  for (auto _ : state) InlineFlushTlbOne(va);
}

void Register() {
  struct Entry {
    const char* name;
    void (*fn)(benchmark::State&);
  };
  const Entry entries[] = {
      {"irq_save_restore/direct_call", IrqSaveRestoreDirect},
      {"irq_save_restore/pvops_table_call", IrqSaveRestoreTable},
      {"irq_save_restore/inline_insn", IrqSaveRestoreInline},
      {"clock_ns/direct_call", ClockNsDirect},
      {"clock_ns/pvops_table_call", ClockNsTable},
      {"clock_ns/inline_insn", ClockNsInline},
      {"flush_tlb_one/direct_call", FlushTlbOneDirect},
      {"flush_tlb_one/pvops_table_call", FlushTlbOneTable},
      {"flush_tlb_one/inline_insn", FlushTlbOneInline},
  };
  for (const Entry& e : entries) benchmark::RegisterBenchmark(e.name, e.fn);
}

}  // namespace
}  // namespace pvops_bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  pvops_bench::InstallUserBackend();
  pvops_bench::Register();
  benchmark::AddCustomContext("pvops_backend", "user-mode stand-ins (bench/user_backend.h)");
  pvops_bench::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.PrintRatios(std::cout);
  benchmark::Shutdown();
  return 0;
}
