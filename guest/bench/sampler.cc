#include "bench/sampler.h"

namespace guest::bench {
namespace {

uint64_t g_samples[kSamples];
bool g_kvm_port;
KvmExitCounts g_kvm_overhead;

// Heap sort: no libc, bounded time, and 1000 samples sort in well under a millisecond.
void SiftDown(uint64_t* a, uint32_t root, uint32_t end) {
  while (2 * root + 1 < end) {
    uint32_t child = 2 * root + 1;
    if (child + 1 < end && a[child] < a[child + 1]) ++child;
    if (a[root] >= a[child]) return;
    const uint64_t t = a[root];
    a[root] = a[child];
    a[child] = t;
    root = child;
  }
}

void Sort(uint64_t* a, uint32_t n) {
  for (uint32_t i = n / 2; i-- > 0;) SiftDown(a, i, n);
  for (uint32_t end = n; end-- > 1;) {
    const uint64_t t = a[0];
    a[0] = a[end];
    a[end] = t;
    SiftDown(a, 0, end);
  }
}

// Nearest rank: the smallest sample with at least `percent` of the samples at or below it.
uint64_t Percentile(const uint64_t* sorted, uint32_t n, uint32_t percent) {
  uint32_t rank = (n * percent + 99) / 100;
  if (rank == 0) rank = 1;
  return sorted[rank - 1];
}

}  // namespace

Summary Summarize(uint64_t* samples, uint32_t count) {
  if (count == 0) return Summary{0, 0, 0, 0};
  Sort(samples, count);
  return Summary{count, samples[0], Percentile(samples, count, 50), Percentile(samples, count, 99)};
}

uint64_t* SampleBuffer() { return g_samples; }

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
  deltas_.before = LibraryCounters::Now();
  if (g_kvm_port) deltas_.kvm_before = ReadKvmExitCounts();
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
  const uint64_t net_exits = exits > g_kvm_overhead.exits ? exits - g_kvm_overhead.exits : 0;
  const uint64_t net_hypercalls =
      hypercalls > g_kvm_overhead.hypercalls ? hypercalls - g_kvm_overhead.hypercalls : 0;
  *exits_centi = (net_exits * 100 + ops / 2) / ops;
  *hypercalls_centi = (net_hypercalls * 100 + ops / 2) / ops;
  return true;
}

}  // namespace guest::bench
