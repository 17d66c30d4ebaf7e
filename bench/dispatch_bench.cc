// SPDX-License-Identifier: MIT
// What boot-time selection costs on a hot path: each op reached four ways, in user mode on the
// host. Names are OP/MECHANISM, MECHANISM one of direct_call, table_call, patched, inline_insn
// (mechanisms.h); the run ends with each op's mechanisms over direct_call (ratio_reporter.h).
// Built twice (bench/CMakeLists.txt): plain and with retpolines, as a mitigated kernel is.
//
// `--pvops_count=N` instead runs every mechanism's op N times, in functions named
// pvops_count_OP_MECHANISM (and pvops_count_empty, the loop alone), for callgrind to count
// their instructions (./pvops bench does).
#include <benchmark/benchmark.h>
#include <pvops/pvops.h>

#include <cstdlib>
#include <cstring>
#include <iostream>

#include "mechanisms.h"
#include "ratio_reporter.h"
#include "user_backend.h"
#include "user_patch.h"

#ifndef PVOPS_BENCH_BUILD
#error "built by bench/CMakeLists.txt with the build's name"
#endif

namespace pvops_bench {
namespace {

const Mechanism* const kMechanisms[] = {&kDirectCall, &kTableCall, &kPatched, &kInlineInsn};

void Register() {
  for (const Mechanism* m : kMechanisms) {
    benchmark::RegisterBenchmark((std::string("irq_save_restore/") + m->name).c_str(),
                                 m->irq_save_restore);
    benchmark::RegisterBenchmark((std::string("clock_ns/") + m->name).c_str(), m->clock_ns);
    benchmark::RegisterBenchmark((std::string("flush_tlb_one/") + m->name).c_str(),
                                 m->flush_tlb_one);
  }
}

// Direct calls of the count functions by name: callgrind starts counting at a call of one, and
// in the retpoline build a call through a pointer would enter it by a `ret`.
void Count(uint64_t n) {
  pvops_count_empty(n);
  pvops_count_irq_save_restore_direct_call(n);
  pvops_count_clock_ns_direct_call(n);
  pvops_count_flush_tlb_one_direct_call(n);
  pvops_count_irq_save_restore_table_call(n);
  pvops_count_clock_ns_table_call(n);
  pvops_count_flush_tlb_one_table_call(n);
  pvops_count_irq_save_restore_patched(n);
  pvops_count_clock_ns_patched(n);
  pvops_count_flush_tlb_one_patched(n);
  pvops_count_irq_save_restore_inline_insn(n);
  pvops_count_clock_ns_inline_insn(n);
  pvops_count_flush_tlb_one_inline_insn(n);
}

// Takes --pvops_count=N out of argv; 0 when absent.
uint64_t TakeCountFlag(int* argc, char** argv) {
  constexpr const char* kFlag = "--pvops_count=";
  uint64_t n = 0;
  int kept = 1;
  for (int i = 1; i < *argc; ++i) {
    if (std::strncmp(argv[i], kFlag, std::strlen(kFlag)) == 0) {
      n = std::strtoull(argv[i] + std::strlen(kFlag), nullptr, 10);
    } else {
      argv[kept++] = argv[i];
    }
  }
  *argc = kept;
  return n;
}

}  // namespace
}  // namespace pvops_bench

int main(int argc, char** argv) {
  const uint64_t count = pvops_bench::TakeCountFlag(&argc, argv);
  pvops_bench::InstallUserBackend();
  bool patched = false;
  const std::string patch = pvops_bench::PatchUserSites(&patched);
  std::cout << "patch: " << patch << "\n";
  if (!patched) return 1;
  if (count > 0) {
    pvops_bench::Count(count);
    return 0;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  pvops_bench::Register();
  benchmark::AddCustomContext("pvops_backend", "user-mode stand-ins (bench/user_backend.h)");
  benchmark::AddCustomContext("pvops_build", PVOPS_BENCH_BUILD);
  benchmark::AddCustomContext("pvops_patch", patch);
  pvops_bench::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.PrintRatios(std::cout);
  benchmark::Shutdown();
  return 0;
}
