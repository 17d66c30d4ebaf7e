// The bench's sample arithmetic (guest/bench/sample_stats.cc) on the host, against values worked
// out by hand: nearest-rank summaries, the TSC's step, the batch a cheap op needs, and the
// round-by-round ratio of two interleaved series.
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
  EXPECT_EQ(sum.batch, 1u);
  EXPECT_EQ(Summarize(s.data(), 0).samples, 0u);
}

TEST(SampleStatsTest, PerCallDividesEachFigureByTheBatchRounded) {
  Summary s{100, 1000, 1013, 1020};
  PerCall(&s, 8);
  EXPECT_EQ(s.batch, 8u);
  EXPECT_EQ(s.min, 125u);     // 1000 / 8 = 125
  EXPECT_EQ(s.median, 127u);  // 1013 / 8 = 126.6
  EXPECT_EQ(s.p99, 128u);     // 1020 / 8 = 127.5, rounded up
  EXPECT_EQ(s.samples, 100u) << "samples stay samples";
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

TEST(SampleStatsTest, RatiosAreTakenRoundByRoundOnMedians) {
  // Three rounds of five samples; each round's medians: 110/100, 95/100, 200/200.
  std::vector<uint64_t> lib = {110, 109, 900, 108, 111, 95, 1, 95, 96, 94, 200, 200, 199, 201, 9};
  std::vector<uint64_t> raw = {100, 100, 99,  101, 5000, 100, 100, 100,
                               100, 100, 200, 0,   200,  400, 201};
  const RatioSpread r = RoundRatios(lib.data(), raw.data(), 3, 5);
  EXPECT_EQ(r.median_milli, 1000u);
  EXPECT_EQ(r.min_milli, 950u);
  EXPECT_EQ(r.max_milli, 1100u);
}

TEST(SampleStatsTest, RoundRatiosRoundToTheNearestThousandth) {
  std::vector<uint64_t> lib = {1001, 1001, 1001};
  std::vector<uint64_t> raw = {3000, 3000, 3000};
  const RatioSpread r = RoundRatios(lib.data(), raw.data(), 1, 3);
  EXPECT_EQ(r.median_milli, 334u);  // 0.33366
  EXPECT_EQ(RoundRatios(lib.data(), raw.data(), 0, 3).median_milli, 0u);
}

}  // namespace
}  // namespace guest::bench
