// Timing one op many times: each sample is the TSC cycles between two rdtsc around one call,
// summarised as min, median and p99; and the counters (the library's, KVM's) across the loop.
// A cheap op set against its raw baseline is timed in batches instead (SamplePaired).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <pvops/pvops.h>

#include "bench/kvm_exit_counter.h"
#include "bench/raw_insns.h"
#include "bench/sample_stats.h"

namespace guest::bench {

// One buffer for every op: ops run one after the other.
uint64_t* SampleBuffer();

// Every counter the library keeps, at one moment.
struct LibraryCounters {
  uint32_t count;
  pvops_counter values[PVOPS_MAX_COUNTERS];
  static LibraryCounters Now();
};

// What the counters moved by across one op's loop.
// Across several intervals (CounterWindow::Resume), `before` is shifted by each gap, so that
// after - before is what moved inside the intervals only.
struct CounterDeltas {
  LibraryCounters before, after;
  bool kvm_counted;
  KvmExitCounts kvm_before, kvm_after;
  uint32_t intervals;  // each one read KVM's counts twice: its overhead is taken off per interval
};

// Reads the counters before and after; KVM's only when the stats port answers.
class CounterWindow {
 public:
  static void Init();  // probes the KVM stats port and measures its own overhead, once
  static bool KvmCounted();
  void Begin();
  void End();
  // Counts again from now, adding to what the window holds since Begin (End closes it again).
  void Resume();
  const CounterDeltas& deltas() const { return deltas_; }

 private:
  CounterDeltas deltas_{};
};

// KVM exits per op in hundredths (each interval's read overhead removed); false when not counted.
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

// ---- A library call against its raw baseline, in batches and rounds ----------------------

inline constexpr uint32_t kCalibrationSamples = 16;

// The TSC's resolution as the sampler sees it (the smallest move between two back-to-back
// reads; TCG's TSC moves in steps): measured once, before any op.
void MeasureTscStep();
uint64_t TscStep();

struct Paired {
  uint64_t tsc_step;
  uint32_t batch;
  uint32_t rounds;
  uint64_t shortest_steps;  // the shortest sample of either side, in TSC steps
  Summary lib, raw;         // per call, every round pooled
  RatioSpread ratio;
  CounterDeltas lib_deltas, raw_deltas;
};

// The second buffer SamplePaired needs next to SampleBuffer().
uint64_t* RawSampleBuffer();

template <typename Call>
void TimeBatches(uint32_t batch, uint32_t count, uint64_t* out, Call& call) {
  for (uint32_t s = 0; s < count; ++s) {
    const uint64_t start = ReadTsc();
    for (uint32_t i = 0; i < batch; ++i) call();
    out[s] = ReadTsc() - start;
  }
}

template <typename Call>
uint64_t ShortestBatch(uint32_t batch, Call& call) {
  uint64_t samples[kCalibrationSamples];
  TimeBatches(batch, kCalibrationSamples, samples, call);
  uint64_t shortest = samples[0];
  for (uint64_t s : samples) shortest = s < shortest ? s : shortest;
  return shortest;
}

// Times `lib()` and `raw()` the same way: the batch is the smallest that makes the shorter of
// the two span twice kMinStepsPerSample TSC steps in calibration (a sample may run faster
// later); then kRounds rounds of kSamplesPerRound samples each, the two sides taking turns at
// going first.
template <typename Lib, typename Raw>
void SamplePaired(Paired* p, CounterWindow* lib_window, CounterWindow* raw_window, Lib&& lib,
                  Raw&& raw) {
  p->tsc_step = TscStep();
  p->rounds = kRounds;
  const uint64_t floor_cycles = 2 * kMinStepsPerSample * p->tsc_step;
  uint32_t batch = 1;
  for (uint32_t tries = 0; tries < 8; ++tries) {
    const uint64_t a = ShortestBatch(batch, lib), b = ShortestBatch(batch, raw);
    const uint32_t next = BatchFor(batch, a < b ? a : b, floor_cycles);
    if (next <= batch) break;
    batch = next;
  }
  p->batch = batch;
  uint64_t* lib_samples = SampleBuffer();
  uint64_t* raw_samples = RawSampleBuffer();
  for (uint32_t round = 0; round < kRounds; ++round) {
    const uint32_t at = round * kSamplesPerRound;
    for (uint32_t turn = 0; turn < 2; ++turn) {
      const bool lib_turn = (turn == 0) == (round % 2 == 0);
      CounterWindow* window = lib_turn ? lib_window : raw_window;
      round == 0 ? window->Begin() : window->Resume();
      if (lib_turn)
        TimeBatches(batch, kSamplesPerRound, lib_samples + at, lib);
      else
        TimeBatches(batch, kSamplesPerRound, raw_samples + at, raw);
      window->End();
    }
  }
  p->ratio = RoundRatios(lib_samples, raw_samples, kRounds, kSamplesPerRound);
  p->lib = Summarize(lib_samples, kRounds * kSamplesPerRound);
  p->raw = Summarize(raw_samples, kRounds * kSamplesPerRound);
  p->shortest_steps = (p->lib.min < p->raw.min ? p->lib.min : p->raw.min) / p->tsc_step;
  PerCall(&p->lib, batch);
  PerCall(&p->raw, batch);
  p->lib_deltas = lib_window->deltas();
  p->raw_deltas = raw_window->deltas();
}

}  // namespace guest::bench
