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

// Hundredths as "N.NN": the guest has no floating point (no SSE).
size_t AppendCenti(char* out, size_t size, uint64_t centi) {
  return Format(out, size, "%lu.%02lu", centi / 100, centi % 100);
}

// The library counters that moved, per sample: "hypercalls:1.00,pv_eoi_slow:1.00" or "none".
size_t AppendLibraryDeltas(char* out, size_t size, const CounterDeltas& d, uint32_t samples) {
  size_t len = Format(out, size, " lib=");
  bool any = false;
  for (uint32_t i = 0; i < d.after.count; ++i) {
    uint64_t before = 0;
    for (uint32_t j = 0; j < d.before.count; ++j)
      if (SameName(d.before.values[j].name, d.after.values[i].name))
        before = d.before.values[j].value;
    const uint64_t moved = d.after.values[i].value - before;
    if (moved == 0) continue;
    len += Format(out + len, size - len, "%s%s:", any ? "," : "", d.after.values[i].name);
    len += AppendCenti(out + len, size - len, (moved * 100 + samples / 2) / samples);
    any = true;
  }
  if (!any) len += Format(out + len, size - len, "none");
  return len;
}

// Thousandths as "N.NN" (rounded to hundredths).
size_t AppendRatio(char* out, size_t size, uint32_t milli) {
  return AppendCenti(out, size, (uint64_t{milli} + 5) / 10);
}

// One `bench:` line; `extra` (fields with a leading space, or "") goes before lib=. Counters
// are divided by every call the samples made.
void PrintLine(const char* op, const char* impl, const char* what, const Summary& s,
               const CounterDeltas& deltas, uint32_t ops_per_sample, const char* extra) {
  char line[kMaxLineBytes];
  size_t len = Format(line, sizeof(line),
                      "bench: op=%s impl=%s samples=%u min=%lu median=%lu p99=%lu unit=tsc_cycles",
                      op, impl, s.samples, s.min, s.median, s.p99);
  if (ops_per_sample != 1)
    len += Format(line + len, sizeof(line) - len, " ops_per_sample=%u", ops_per_sample);
  len += Format(line + len, sizeof(line) - len, "%s", extra);
  const uint32_t calls = s.samples * s.batch;
  uint64_t exits = 0, hypercalls = 0;
  if (KvmExitsPerOpCenti(deltas, calls, &exits, &hypercalls)) {
    len += Format(line + len, sizeof(line) - len, " exits_per_op=");
    len += AppendCenti(line + len, sizeof(line) - len, exits);
    len += Format(line + len, sizeof(line) - len, " kvm_hypercalls_per_op=");
    len += AppendCenti(line + len, sizeof(line) - len, hypercalls);
  }
  if (calls > 0) len += AppendLibraryDeltas(line + len, sizeof(line) - len, deltas, calls);
  Format(line + len, sizeof(line) - len, " what=\"%s\"", what);
  Print("%s\n", line);
}

}  // namespace

void BenchReport::Line(const char* op, const char* impl, const char* what, const Summary& s,
                       const CounterDeltas& deltas, uint32_t ops_per_sample) {
  PrintLine(op, impl, what, s, deltas, ops_per_sample, "");
}

void BenchReport::LineWithHypercalls(const char* op, const char* impl, const char* what,
                                     const Summary& s, const CounterDeltas& deltas) {
  uint64_t moved = 0;
  for (uint32_t i = 0; i < deltas.after.count; ++i) {
    if (!SameName(deltas.after.values[i].name, "hypercalls")) continue;
    for (uint32_t j = 0; j < deltas.before.count; ++j)
      if (SameName(deltas.before.values[j].name, "hypercalls"))
        moved = deltas.after.values[i].value - deltas.before.values[j].value;
  }
  const uint32_t calls = s.samples * s.batch;
  char extra[64];
  const size_t len = Format(extra, sizeof(extra), " hypercalls=%lu hypercalls_per_op=", moved);
  AppendCenti(extra + len, sizeof(extra) - len, calls == 0 ? 0 : (moved * 100 + calls / 2) / calls);
  PrintLine(op, impl, what, s, deltas, 1, extra);
}

void BenchReport::PairedLines(const char* op, const char* lib_what, const char* raw_what,
                              const Paired& p) {
  char extra[160];
  size_t len = Format(extra, sizeof(extra),
                      " batch=%u tsc_step=%lu shortest_steps=%lu rounds=%u ratio=", p.batch,
                      p.tsc_step, p.shortest_steps, p.rounds);
  len += AppendRatio(extra + len, sizeof(extra) - len, p.ratio.median_milli);
  len += Format(extra + len, sizeof(extra) - len, " ratio_min=");
  len += AppendRatio(extra + len, sizeof(extra) - len, p.ratio.min_milli);
  len += Format(extra + len, sizeof(extra) - len, " ratio_max=");
  AppendRatio(extra + len, sizeof(extra) - len, p.ratio.max_milli);
  PrintLine(op, "pvops", lib_what, p.lib, p.lib_deltas, 1, extra);
  Format(extra, sizeof(extra), " batch=%u tsc_step=%lu shortest_steps=%lu rounds=%u", p.batch,
         p.tsc_step, p.shortest_steps, p.rounds);
  PrintLine(op, "raw", raw_what, p.raw, p.raw_deltas, 1, extra);
}

void BenchReport::Unavailable(const char* op, const char* impl, const char* reason) {
  Print("bench: op=%s impl=%s samples=0 unavailable=\"%s\"\n", op, impl, reason);
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
