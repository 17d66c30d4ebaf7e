// Timing one op many times: each sample is the TSC cycles between two rdtsc around one call,
// summarised as min, median and p99; and the counters (the library's, KVM's) across the loop.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <pvops/pvops.h>

#include "bench/kvm_exit_counter.h"
#include "bench/raw_insns.h"

namespace guest::bench {

inline constexpr uint32_t kSamples = 1000;

struct Summary {
  uint32_t samples;
  uint64_t min;
  uint64_t median;
  uint64_t p99;
};

// Sorts `samples` in place and summarises them (nearest-rank median and p99).
Summary Summarize(uint64_t* samples, uint32_t count);

// One buffer for every op: ops run one after the other.
uint64_t* SampleBuffer();

// Every counter the library keeps, at one moment.
struct LibraryCounters {
  uint32_t count;
  pvops_counter values[PVOPS_MAX_COUNTERS];
  static LibraryCounters Now();
};

// What the counters moved by across one op's loop.
struct CounterDeltas {
  LibraryCounters before, after;
  bool kvm_counted;
  KvmExitCounts kvm_before, kvm_after;
};

// Reads the counters before and after; KVM's only when the stats port answers.
class CounterWindow {
 public:
  static void Init();  // probes the KVM stats port and measures its own overhead, once
  static bool KvmCounted();
  void Begin();
  void End();
  const CounterDeltas& deltas() const { return deltas_; }

 private:
  CounterDeltas deltas_{};
};

// KVM exits per op in hundredths (the read overhead removed); false when not counted.
bool KvmExitsPerOpCenti(const CounterDeltas& d, uint32_t ops, uint64_t* exits_centi,
                        uint64_t* hypercalls_centi);

// Times `body(i)` for i in [0, count): the body is inlined into the loop, so the pvops call and
// its raw baseline are timed with exactly the same frame around them.
template <typename Body>
Summary Sample(uint32_t count, CounterWindow* window, Body&& body) {
  uint64_t* samples = SampleBuffer();
  if (count > kSamples) count = kSamples;
  window->Begin();
  for (uint32_t i = 0; i < count; ++i) {
    const uint64_t start = ReadTsc();
    body(i);
    samples[i] = ReadTsc() - start;
  }
  window->End();
  return Summarize(samples, count);
}

}  // namespace guest::bench
