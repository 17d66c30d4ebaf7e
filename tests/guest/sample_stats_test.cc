// SPDX-License-Identifier: MIT
// The bench's sample arithmetic (guest/bench/sample_stats.cc) on the host, against values worked
// out by hand: nearest-rank summaries, the TSC's step and the batch a cheap op needs.
#include "bench/sample_stats.h"

#include <gtest/gtest.h>

#include <vector>

namespace guest::bench {
namespace {

TEST(SampleStatsTest, SummaryIsNearestRank) {
  std::vector<uint64_t> s = {50, 10, 40, 20, 30};
  const Summary sum = Summarize(s.data(), 5);
  EXPECT_EQ(sum.samples, 5u);
  EXPECT_EQ(sum.min, 10u);
  EXPECT_EQ(sum.median, 30u);  // rank ceil(5 * 0.5) = 3
  EXPECT_EQ(sum.p99, 50u);     // rank ceil(5 * 0.99) = 5
  EXPECT_EQ(Summarize(s.data(), 0).samples, 0u);
}

TEST(SampleStatsTest, TheStepIsTheSmallestMoveBetweenReads) {
  const uint64_t reads[] = {1000, 1000, 1052, 1078, 1078, 1130, 1234};
  EXPECT_EQ(SmallestStep(reads, 7), 26u);
  const uint64_t still[] = {5, 5, 5};
  EXPECT_EQ(SmallestStep(still, 3), 1u) << "a TSC that never moved: 1, never 0";
  EXPECT_EQ(SmallestStep(reads, 1), 1u);
}

TEST(SampleStatsTest, TheBatchMakesTheShortestSampleReachTheFloor) {
  // One call took 152 cycles at best; 100 steps of 52 need ceil(5200 / 152) = 35 calls.
  EXPECT_EQ(BatchFor(1, 152, 5200), 35u);
  // From a trial of 8 calls whose shortest sample took 2600 cycles: 8 * 2 = 16.
  EXPECT_EQ(BatchFor(8, 2600, 5200), 16u);
  EXPECT_EQ(BatchFor(8, 2601, 5200), 16u) << "rounded up: 15.99 calls is 16";
  EXPECT_EQ(BatchFor(3, 5200, 5200), 3u) << "already long enough";
  EXPECT_EQ(BatchFor(1, 85000, 5200), 1u);
  EXPECT_EQ(BatchFor(1, 1, 1'000'000), kMaxBatch);
  EXPECT_EQ(BatchFor(1, 0, 5200), kMaxBatch);
}

}  // namespace
}  // namespace guest::bench
