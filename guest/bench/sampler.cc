#include "bench/sampler.h"

namespace guest::bench {
namespace {

uint64_t g_samples[kSamples];
uint64_t g_raw_samples[kSamples];
uint64_t g_tsc_step = 1;
bool g_kvm_port;
KvmExitCounts g_kvm_overhead;

}  // namespace

uint64_t* SampleBuffer() { return g_samples; }
uint64_t* RawSampleBuffer() { return g_raw_samples; }

void MeasureTscStep() {
  uint64_t* reads = SampleBuffer();
  for (uint32_t i = 0; i < kSamples; ++i) reads[i] = ReadTsc();
  g_tsc_step = SmallestStep(reads, kSamples);
}

uint64_t TscStep() { return g_tsc_step; }

LibraryCounters LibraryCounters::Now() {
  LibraryCounters c;
  c.count = pvops_get_counters(c.values, PVOPS_MAX_COUNTERS);
  return c;
}

void CounterWindow::Init() {
  g_kvm_port = KvmExitCounterPresent();
  if (g_kvm_port) g_kvm_overhead = KvmExitCounterOverhead();
}

bool CounterWindow::KvmCounted() { return g_kvm_port; }

void CounterWindow::Begin() {
  deltas_.kvm_counted = g_kvm_port;
  deltas_.intervals = 1;
  deltas_.before = LibraryCounters::Now();
  if (g_kvm_port) deltas_.kvm_before = ReadKvmExitCounts();
}

void CounterWindow::Resume() {
  // The gap since End moves `before` up by what the counters moved in it.
  const LibraryCounters now = LibraryCounters::Now();
  for (uint32_t i = 0; i < now.count && i < deltas_.after.count && i < deltas_.before.count; ++i)
    deltas_.before.values[i].value += now.values[i].value - deltas_.after.values[i].value;
  if (g_kvm_port) {
    const KvmExitCounts kvm = ReadKvmExitCounts();
    deltas_.kvm_before.exits += kvm.exits - deltas_.kvm_after.exits;
    deltas_.kvm_before.hypercalls += kvm.hypercalls - deltas_.kvm_after.hypercalls;
  }
  ++deltas_.intervals;
}

void CounterWindow::End() {
  if (g_kvm_port) deltas_.kvm_after = ReadKvmExitCounts();
  deltas_.after = LibraryCounters::Now();
}

bool KvmExitsPerOpCenti(const CounterDeltas& d, uint32_t ops, uint64_t* exits_centi,
                        uint64_t* hypercalls_centi) {
  if (!d.kvm_counted || ops == 0) return false;
  const uint32_t exits = d.kvm_after.exits - d.kvm_before.exits;
  const uint32_t hypercalls = d.kvm_after.hypercalls - d.kvm_before.hypercalls;
  const uint64_t exit_overhead = uint64_t{g_kvm_overhead.exits} * d.intervals;
  const uint64_t hypercall_overhead = uint64_t{g_kvm_overhead.hypercalls} * d.intervals;
  const uint64_t net_exits = exits > exit_overhead ? exits - exit_overhead : 0;
  const uint64_t net_hypercalls =
      hypercalls > hypercall_overhead ? hypercalls - hypercall_overhead : 0;
  *exits_centi = (net_exits * 100 + ops / 2) / ops;
  *hypercalls_centi = (net_hypercalls * 100 + ops / 2) / ops;
  return true;
}

}  // namespace guest::bench
