// The arithmetic of the bench's samples, apart from any timing so the host tests run it:
// summaries (min, median, p99), the TSC's step, the batch a cheap op needs, and the ratio of
// two interleaved series round by round.
#pragma once

#include <stdint.h>

namespace guest::bench {

inline constexpr uint32_t kSamples = 1000;

struct Summary {
  uint32_t samples;
  uint64_t min;
  uint64_t median;
  uint64_t p99;
  // Calls one sample timed; above 1, min, median and p99 are per call (a sample / batch).
  uint32_t batch = 1;
};

// Sorts `samples` in place and summarises them (nearest-rank median and p99).
Summary Summarize(uint64_t* samples, uint32_t count);

// Turns a summary of samples of `batch` calls each into one per call (rounded to nearest).
void PerCall(Summary* s, uint32_t batch);

// A sample must span this many steps of the TSC, or its rounding decides the ratio.
inline constexpr uint32_t kMinStepsPerSample = 100;
// Rounds alternate the library's samples and the raw ones, so drift (the host's load, TCG's
// caches) reaches both; every round holds kSamples / kRounds of each.
inline constexpr uint32_t kRounds = 20;
inline constexpr uint32_t kSamplesPerRound = kSamples / kRounds;
inline constexpr uint32_t kMaxBatch = 4096;

// The smallest nonzero difference between consecutive `reads`; 1 when none moved.
uint64_t SmallestStep(const uint64_t* reads, uint32_t count);

// Calls per sample so that a sample reaches `floor_cycles`, from a trial batch of `tried` calls
// whose shortest sample took `shortest` cycles (rounded up, at most kMaxBatch).
uint32_t BatchFor(uint32_t tried, uint64_t shortest, uint64_t floor_cycles);

// Library over raw, in thousandths: the median of the rounds' ratios and their range.
struct RatioSpread {
  uint32_t median_milli, min_milli, max_milli;
};
// Each round's median library sample over its median raw sample (same batch), for `rounds`
// rounds of `per_round` samples each (at most kRounds); sorts both buffers round by round.
RatioSpread RoundRatios(uint64_t* lib, uint64_t* raw, uint32_t rounds, uint32_t per_round);

}  // namespace guest::bench
