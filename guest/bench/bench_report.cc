// SPDX-License-Identifier: MIT
#include "bench/bench_report.h"

#include <stdarg.h>

#include "kernel/console.h"
#include "kernel/format.h"

namespace guest::bench {
namespace {

bool SameName(const char* a, const char* b) {
  while (*a != '\0' && *a == *b) ++a, ++b;
  return *a == *b;
}

// A bench line carries every round's median: longer than the console's usual line.
constexpr size_t kBenchLineBytes = 1024;
char g_line[kBenchLineBytes];  // the bench runs on one CPU

// Hundredths as "N.NN": the guest has no floating point (no SSE).
size_t AppendCenti(char* out, size_t size, uint64_t centi) {
  return Format(out, size, "%lu.%02lu", centi / 100, centi % 100);
}

// `count` per `ops`, in hundredths, rounded.
uint64_t CentiPer(uint64_t count, uint64_t ops) {
  return ops == 0 ? 0 : (count * 100 + ops / 2) / ops;
}

// The library counters that moved, per op: "hypercalls:1.00,pv_eoi_slow:1.00" or "none".
size_t AppendLibraryCounters(char* out, size_t size, const CounterTotals& c, uint64_t ops) {
  size_t len = Format(out, size, " lib=");
  bool any = false;
  for (uint32_t i = 0; i < c.count; ++i) {
    if (c.library[i] == 0) continue;
    len += Format(out + len, size - len, "%s%s:", any ? "," : "", c.names[i]);
    len += AppendCenti(out + len, size - len, CentiPer(c.library[i], ops));
    any = true;
  }
  if (!any) len += Format(out + len, size - len, "none");
  return len;
}

}  // namespace

void BenchReport::Calibration(const char* op, const Variant* variants, const OpResult& r) {
  size_t len = Format(g_line, sizeof(g_line) - 1, "# calibration: op=%s floor=2*%u*%lu cycles", op,
                      kMinStepsPerSample, TscStep());
  for (uint32_t v = 0; v < r.variants; ++v)
    len += Format(g_line + len, sizeof(g_line) - 1 - len, " %s=%u:%lu", variants[v].name,
                  r.results[v].batch, r.results[v].calibration_cycles);
  g_line[len++] = '\n';
  PrintRaw(g_line, len);
}

void BenchReport::Line(const char* op, const Variant& variant, const OpResult& r, uint32_t index,
                       const char* site, uint32_t updates_per_op) {
  const VariantResult& v = r.results[index];
  uint64_t sorted[kRounds];
  for (uint32_t i = 0; i < kRounds; ++i) sorted[i] = v.round_medians[i];
  const uint64_t median = Summarize(sorted, kRounds).median;
  const uint64_t counted_ops = uint64_t{kCountedSamples} * v.batch;
  char* line = g_line;
  const size_t size = sizeof(g_line) - 1;  // room for the newline
  size_t len = Format(line, size,
                      "bench: op=%s variant=%s batch=%u rounds=%u samples_per_round=%u "
                      "counted_ops=%lu",
                      op, variant.name, v.batch, kRounds, kSamplesPerRound, counted_ops);
  len += Format(line + len, size - len, " median=");
  len += AppendCenti(line + len, size - len, CentiPer(median, v.batch));
  len += Format(line + len, size - len, " spread=");
  len += AppendCenti(line + len, size - len, CentiPer(sorted[0], v.batch));
  len += Format(line + len, size - len, "-");
  len += AppendCenti(line + len, size - len, CentiPer(sorted[kRounds - 1], v.batch));
  len += Format(line + len, size - len, " unit=tsc_cycles_per_op round_medians=");
  for (uint32_t i = 0; i < kRounds; ++i)
    len += Format(line + len, size - len, "%s%lu", i == 0 ? "" : ",", v.round_medians[i]);
  if (updates_per_op != 1)
    len += Format(line + len, size - len, " updates_per_op=%u", updates_per_op);
  if (site != nullptr) len += Format(line + len, size - len, " site=%s", site);
  if (v.counters.kvm_counted) {
    len += Format(line + len, size - len, " exits_per_op=");
    len += AppendCenti(line + len, size - len, CentiPer(v.counters.kvm_exits, counted_ops));
    len += Format(line + len, size - len, " kvm_hypercalls_per_op=");
    len += AppendCenti(line + len, size - len, CentiPer(v.counters.kvm_hypercalls, counted_ops));
  }
  // The library's hypercalls even when none: the ops that must not enter the hypervisor (Xen
  // PV's irq flags are its upcall mask) show it.
  uint64_t hypercalls = 0;
  for (uint32_t i = 0; i < v.counters.count; ++i)
    if (SameName(v.counters.names[i], "hypercalls")) hypercalls = v.counters.library[i];
  len += Format(line + len, size - len, " hypercalls_per_op=");
  len += AppendCenti(line + len, size - len, CentiPer(hypercalls, counted_ops));
  len += AppendLibraryCounters(line + len, size - len, v.counters, counted_ops);
  len += Format(line + len, size - len, " what=\"%s\"", variant.what);
  line[len++] = '\n';
  PrintRaw(line, len);
}

void BenchReport::Lines(const char* op, const Variant* variants, const OpResult& r,
                        uint32_t updates_per_op) {
  for (uint32_t v = 0; v < r.variants; ++v) Line(op, variants[v], r, v, nullptr, updates_per_op);
}

void BenchReport::Unavailable(const char* op, const char* variant, const char* reason) {
  Print("bench: op=%s variant=%s unavailable=\"%s\"\n", op, variant, reason);
}

void BenchReport::Pass(const char* op) {
  ++summary_.passed;
  Print("ok %u bench.%s\n", ++number_, op);
}

void BenchReport::Fail(const char* op, const char* format, ...) {
  char reason[200];
  va_list args;
  va_start(args, format);
  FormatV(reason, sizeof(reason), format, args);
  va_end(args);
  ++summary_.failed;
  Print("not ok %u bench.%s # %s\n", ++number_, op, reason);
}

void BenchReport::Skip(const char* op, const char* format, ...) {
  char reason[200];
  va_list args;
  va_start(args, format);
  FormatV(reason, sizeof(reason), format, args);
  va_end(args);
  ++summary_.skipped;
  Print("ok %u bench.%s # SKIP %s\n", ++number_, op, reason);
}

}  // namespace guest::bench
