// SPDX-License-Identifier: MIT
#include "bench/sampler.h"

namespace guest::bench {
namespace {

uint64_t g_samples[kMaxVariants][kSamplesPerRound];
uint64_t g_tsc_step;
bool g_kvm_port;
KvmExitCounts g_kvm_overhead;

// The counters around one sample set.
class Window {
 public:
  void Begin() {
    before_ = LibraryCounters::Now();
    if (g_kvm_port) kvm_before_ = ReadKvmExitCounts();
  }
  void End(CounterTotals* totals) {
    KvmExitCounts kvm_after{};
    if (g_kvm_port) kvm_after = ReadKvmExitCounts();
    after_ = LibraryCounters::Now();
    ++totals->windows;
    totals->count = after_.count;
    for (uint32_t i = 0; i < after_.count; ++i) {
      totals->names[i] = after_.values[i].name;
      // The list keeps its order from one call to the next.
      if (i < before_.count) totals->library[i] += after_.values[i].value - before_.values[i].value;
    }
    totals->kvm_counted = g_kvm_port;
    if (g_kvm_port) {
      const uint32_t exits = kvm_after.exits - kvm_before_.exits;
      const uint32_t hypercalls = kvm_after.hypercalls - kvm_before_.hypercalls;
      totals->kvm_exits += exits > g_kvm_overhead.exits ? exits - g_kvm_overhead.exits : 0;
      totals->kvm_hypercalls +=
          hypercalls > g_kvm_overhead.hypercalls ? hypercalls - g_kvm_overhead.hypercalls : 0;
    }
  }

 private:
  LibraryCounters before_, after_;
  KvmExitCounts kvm_before_;
};

Window g_window;  // static: two snapshots of 32 counters each

// The cheapest of three batches: an interrupt can only make one longer, and a batch chosen on a
// long one would be too short.
uint64_t CalibrationSample(const Variant& v, uint32_t batch, uint32_t* seq) {
  uint64_t best = ~0ull;
  for (int i = 0; i < 3; ++i) {
    const uint64_t t = v.time_batch(v.body, batch, *seq);
    *seq += batch;
    if (t < best) best = t;
  }
  return best;
}

}  // namespace

uint64_t MeasureTscStep() {
  static uint64_t reads[1000];
  for (uint64_t& r : reads) r = ReadTsc();
  g_tsc_step = SmallestStep(reads, 1000);
  return g_tsc_step;
}

uint64_t TscStep() { return g_tsc_step; }

LibraryCounters LibraryCounters::Now() {
  LibraryCounters c;
  c.count = pvops_get_counters(c.values, PVOPS_MAX_COUNTERS);
  return c;
}

void InitCounters() {
  g_kvm_port = KvmExitCounterPresent();
  if (g_kvm_port) g_kvm_overhead = KvmExitCounterOverhead();
}

bool KvmCounted() { return g_kvm_port; }

void Measure(const Variant* variants, uint32_t count, OpResult* out) {
  if (count > kMaxVariants) count = kMaxVariants;
  *out = OpResult{};
  out->variants = count;
  uint32_t seq = 0;
  // Each variant's batch, on its own (an exiting variant may take one op where the bare
  // instruction takes hundreds).
  const uint64_t floor_cycles = 2 * kMinStepsPerSample * TscStep();
  for (uint32_t v = 0; v < count; ++v) {
    uint32_t batch = 1;
    uint64_t t = CalibrationSample(variants[v], batch, &seq);
    for (uint32_t tries = 0; tries < 8; ++tries) {
      const uint32_t next = BatchFor(batch, t, floor_cycles);
      if (next <= batch) break;
      batch = next;
      t = CalibrationSample(variants[v], batch, &seq);
    }
    out->results[v].batch = batch;
    out->results[v].calibration_cycles = t;
  }

  // The rounds: the variants' samples alternate one by one, so that a change of the host's
  // speed (another process on the sibling hyperthread, say) lands on all of them alike. No
  // counter is read in between: the exit-port reads are exits themselves.
  for (uint32_t round = 0; round < kRounds; ++round) {
    for (uint32_t s = 0; s < kSamplesPerRound; ++s) {
      for (uint32_t k = 0; k < count; ++k) {
        const uint32_t v = (round + k) % count;
        const uint32_t batch = out->results[v].batch;
        g_samples[v][s] = variants[v].time_batch(variants[v].body, batch, seq);
        seq += batch;
      }
    }
    for (uint32_t v = 0; v < count; ++v)
      out->results[v].round_medians[round] = Summarize(g_samples[v], kSamplesPerRound).median;
  }
  // The counts: each variant on its own between two counter reads.
  for (uint32_t v = 0; v < count; ++v) {
    g_window.Begin();
    const uint32_t batch = out->results[v].batch;
    for (uint32_t s = 0; s < kCountedSamples; ++s) {
      (void)variants[v].time_batch(variants[v].body, batch, seq);
      seq += batch;
    }
    g_window.End(&out->results[v].counters);
  }
}

}  // namespace guest::bench
