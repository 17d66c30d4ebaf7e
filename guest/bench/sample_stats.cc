// SPDX-License-Identifier: MIT
#include "bench/sample_stats.h"

namespace guest::bench {
namespace {

// Heap sort: no libc, bounded time.
template <typename T>
void SiftDown(T* a, uint32_t root, uint32_t end) {
  while (2 * root + 1 < end) {
    uint32_t child = 2 * root + 1;
    if (child + 1 < end && a[child] < a[child + 1]) ++child;
    if (a[root] >= a[child]) return;
    const T t = a[root];
    a[root] = a[child];
    a[child] = t;
    root = child;
  }
}

template <typename T>
void Sort(T* a, uint32_t n) {
  for (uint32_t i = n / 2; i-- > 0;) SiftDown(a, i, n);
  for (uint32_t end = n; end-- > 1;) {
    const T t = a[0];
    a[0] = a[end];
    a[end] = t;
    SiftDown(a, 0, end);
  }
}

// Nearest rank: the smallest sample with at least `percent` of the samples at or below it.
template <typename T>
T Percentile(const T* sorted, uint32_t n, uint32_t percent) {
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

uint64_t SmallestStep(const uint64_t* reads, uint32_t count) {
  uint64_t step = 0;
  for (uint32_t i = 1; i < count; ++i) {
    const uint64_t d = reads[i] - reads[i - 1];
    if (d != 0 && (step == 0 || d < step)) step = d;
  }
  return step == 0 ? 1 : step;
}

uint32_t BatchFor(uint32_t tried, uint64_t shortest, uint64_t floor_cycles) {
  if (shortest >= floor_cycles) return tried;
  if (shortest == 0) return kMaxBatch;
  const uint64_t batch = (uint64_t{tried} * floor_cycles + shortest - 1) / shortest;
  return batch > kMaxBatch ? kMaxBatch : static_cast<uint32_t>(batch);
}

}  // namespace guest::bench
