/* SPDX-License-Identifier: MIT */
// The arithmetic of the bench's samples, apart from any timing so the host tests run it:
// summaries (min, median, p99), the TSC's step and the batch a cheap op needs.
#pragma once

#include <stdint.h>

namespace guest::bench {

struct Summary {
  uint32_t samples;
  uint64_t min;
  uint64_t median;
  uint64_t p99;
};

// Sorts `samples` in place and summarises them (nearest-rank median and p99).
Summary Summarize(uint64_t* samples, uint32_t count);

// A sample must span this many steps of the TSC, or its rounding decides the ratio.
inline constexpr uint32_t kMinStepsPerSample = 100;
inline constexpr uint32_t kMaxBatch = 4096;

// The smallest nonzero difference between consecutive `reads`; 1 when none moved.
uint64_t SmallestStep(const uint64_t* reads, uint32_t count);

// Calls per sample so that a sample reaches `floor_cycles`, from a trial batch of `tried` calls
// whose shortest sample took `shortest` cycles (rounded up, at most kMaxBatch).
uint32_t BatchFor(uint32_t tried, uint64_t shortest, uint64_t floor_cycles);

}  // namespace guest::bench
