// SPDX-License-Identifier: MIT
#include "clock_rate.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "verdict.h"

namespace pvops_run {
namespace {

constexpr std::int64_t kNsPerSec = 1'000'000'000;

// Lines fed with the host stamps given, as the runner feeds them while they arrive.
GuestLog ParseStamped(std::vector<std::pair<std::string_view, std::int64_t>> lines) {
  GuestLogParser parser;
  for (const auto& [line, host_ns] : lines) parser.Feed(line, host_ns);
  return parser.TakeLog();
}

// A passing run whose clock lines say `guest_ns` apart while the host saw `host_ns` pass.
GuestLog PassingRun(std::int64_t guest_ns, std::int64_t host_ns) {
  const std::int64_t boot_guest_ns = 5'000'000;       // the guest's clock at its first line
  const std::int64_t boot_host_ns = 777 * kNsPerSec;  // the host's, whatever it was
  const std::string first = "clock: ns=" + std::to_string(boot_guest_ns);
  const std::string last = "clock: ns=" + std::to_string(boot_guest_ns + guest_ns);
  return ParseStamped({{"# detect: backend=native", boot_host_ns},
                       {first, boot_host_ns},
                       {"ok 1 time.reference", boot_host_ns + host_ns / 2},
                       {last, boot_host_ns + host_ns},
                       {"1 passed, 0 failed, 0 skipped", boot_host_ns + host_ns}});
}

LaunchOutcome Exited(int status) {
  LaunchOutcome outcome;
  outcome.exit_status = status;
  return outcome;
}

TEST(ClockLineTest, KeepsTheGuestValueAndTheHostStamp) {
  GuestLogParser parser;
  EXPECT_EQ(parser.Feed("clock: ns=1234567890", 42), LineKind::kClock);
  EXPECT_EQ(parser.Feed("(d0) clock: ns=99\r"), LineKind::kClock);  // Xen's tag, no stamp given
  const GuestLog& log = parser.log();
  ASSERT_EQ(log.clock_lines.size(), 2u);
  EXPECT_EQ(log.clock_lines[0].guest_ns, 1234567890u);
  EXPECT_EQ(log.clock_lines[0].host_ns, 42);
  EXPECT_EQ(log.clock_lines[1].guest_ns, 99u);
  EXPECT_EQ(log.clock_lines[1].host_ns, std::nullopt);
  EXPECT_TRUE(log.malformed_clock_lines.empty());
}

TEST(ClockLineTest, TakesTheLargestGuestClock) {
  GuestLog log = ParseStamped({{"clock: ns=18446744073709551615", 1}});
  ASSERT_EQ(log.clock_lines.size(), 1u);
  EXPECT_EQ(log.clock_lines[0].guest_ns, UINT64_MAX);
}

TEST(ClockLineTest, LinesWithoutADecimalNsAreMalformedNotDropped) {
  GuestLog log = ParseStamped({{"clock: ns=12x", 1},
                               {"clock: ns=-5", 2},
                               {"clock: ns=", 3},
                               {"clock: time=5", 4},
                               {"clock: ns=18446744073709551616", 5}});  // 2^64
  EXPECT_TRUE(log.clock_lines.empty());
  EXPECT_EQ(log.malformed_clock_lines, (std::vector<std::string>{"ns=12x", "ns=-5", "ns=", "time=5",
                                                                 "ns=18446744073709551616"}));
}

TEST(ClockLineTest, ACommentMentioningTheClockIsNotAClockLine) {
  GuestLog log = ParseStamped({{"# clock: ns=5", 1}, {"ok 1 time.clock: ns=5", 2}});
  EXPECT_TRUE(log.clock_lines.empty());
  EXPECT_TRUE(log.malformed_clock_lines.empty());
}

TEST(ClockRateTest, ComparesTheGuestsDifferenceWithTheHosts) {
  // 4.002 s of guest clock over 4 s of host time: 500 ppm fast.
  std::optional<ClockRate> rate = MeasureClockRate(PassingRun(4'002'000'000, 4 * kNsPerSec));
  ASSERT_TRUE(rate.has_value());
  EXPECT_NEAR(rate->error_ppm, 500.0, 1e-6);
  EXPECT_NEAR(rate->guest_seconds, 4.002, 1e-12);
  EXPECT_NEAR(rate->host_seconds, 4.0, 1e-12);
  EXPECT_TRUE(rate->Judged());
  EXPECT_FALSE(rate->GrosslyWrong());
  EXPECT_EQ(ClockRateText(*rate), "clock vs host: +500 ppm over 4.0 s");
}

TEST(ClockRateTest, SlowClockIsNegative) {
  std::optional<ClockRate> rate = MeasureClockRate(PassingRun(1'970'000'000, 2 * kNsPerSec));
  ASSERT_TRUE(rate.has_value());
  EXPECT_NEAR(rate->error_ppm, -15000.0, 1e-6);
  EXPECT_TRUE(rate->GrosslyWrong());
  EXPECT_EQ(ClockRateText(*rate), "clock vs host: -15000 ppm over 2.0 s");
}

TEST(ClockRateTest, UsesTheFirstAndTheLastLine) {
  GuestLog log = ParseStamped({{"clock: ns=1000000000", 10 * kNsPerSec},
                               {"clock: ns=1000000007", 11 * kNsPerSec},  // ignored
                               {"clock: ns=3000000000", 12 * kNsPerSec}});
  std::optional<ClockRate> rate = MeasureClockRate(log);
  ASSERT_TRUE(rate.has_value());
  EXPECT_NEAR(rate->error_ppm, 0.0, 1e-9);
}

// A line that reaches the runner late (a loaded host) must not read as a wrong clock: every line
// of the run is on time but that one, and the least delayed line of each end decides.
TEST(ClockRateTest, ALateLineAtEitherEndIsOutvotedByItsNeighbours) {
  std::vector<std::pair<std::string, std::int64_t>> lines;
  for (std::int64_t i = 0; i <= 40; ++i) {
    const std::int64_t guest_ns = 1'000'000'000 + i * 100'000'000;  // every 100 ms
    const std::int64_t delay_ns = (i == 0 || i == 40) ? 60'000'000 : 200'000;
    lines.emplace_back("clock: ns=" + std::to_string(guest_ns),
                       50 * kNsPerSec + i * 100'000'000 + delay_ns);
  }
  GuestLogParser parser;
  for (const auto& [line, host_ns] : lines) parser.Feed(line, host_ns);
  std::optional<ClockRate> rate = MeasureClockRate(parser.log());
  ASSERT_TRUE(rate.has_value());
  EXPECT_NEAR(rate->error_ppm, 0.0, 1.0);
  EXPECT_TRUE(rate->Judged());
  EXPECT_FALSE(rate->GrosslyWrong());
}

// The choice of lines cannot hide a clock that is really off: 2% fast over the whole run.
TEST(ClockRateTest, AClockThatRunsFastIsSeenThroughTheLineChoice) {
  GuestLogParser parser;
  for (std::int64_t i = 0; i <= 40; ++i) {
    const std::int64_t host_ns = 50 * kNsPerSec + i * 100'000'000 + (i % 3) * 5'000'000;
    const std::int64_t guest_ns = 1'000'000'000 + i * 102'000'000;
    parser.Feed("clock: ns=" + std::to_string(guest_ns), host_ns);
  }
  std::optional<ClockRate> rate = MeasureClockRate(parser.log());
  ASSERT_TRUE(rate.has_value());
  EXPECT_GT(rate->error_ppm, 15'000.0);
  EXPECT_TRUE(rate->GrosslyWrong());
}

TEST(ClockRateTest, AGuestClockThatWentBackIsGrosslyWrong) {
  GuestLog log = ParseStamped(
      {{"clock: ns=3000000000", 10 * kNsPerSec}, {"clock: ns=1000000000", 12 * kNsPerSec}});
  std::optional<ClockRate> rate = MeasureClockRate(log);
  ASSERT_TRUE(rate.has_value());
  EXPECT_NEAR(rate->error_ppm, -2'000'000.0, 1e-6);
  EXPECT_TRUE(rate->GrosslyWrong());
}

TEST(ClockRateTest, NothingToCompareWithoutTwoStampedLines) {
  EXPECT_EQ(MeasureClockRate(GuestLog{}), std::nullopt);
  EXPECT_EQ(MeasureClockRate(ParseStamped({{"clock: ns=5", 1}})), std::nullopt);
  GuestLogParser unstamped;
  unstamped.Feed("clock: ns=5");
  unstamped.Feed("clock: ns=2000000005");
  EXPECT_EQ(MeasureClockRate(unstamped.log()), std::nullopt);
  // Read in the same instant: no host time passed to divide by.
  EXPECT_EQ(MeasureClockRate(ParseStamped({{"clock: ns=5", 7}, {"clock: ns=9", 7}})), std::nullopt);
}

TEST(ClockRateTest, ShortRunsAreReportedNotJudged) {
  std::optional<ClockRate> rate = MeasureClockRate(PassingRun(600'000'000, 500'000'000));
  ASSERT_TRUE(rate.has_value());
  EXPECT_NEAR(rate->error_ppm, 200'000.0, 1e-6);
  EXPECT_FALSE(rate->Judged());
  EXPECT_FALSE(rate->GrosslyWrong());
  EXPECT_EQ(ClockRateText(*rate), "clock vs host: +200000 ppm over 0.5 s (too short to judge)");
}

TEST(ClockRateVerdictTest, WithinTheLimitPasses) {
  // 9000 ppm slow over 10 s: coarse serial timing could do that much; it is not judged wrong.
  VerdictWithReason verdict = DecideVerdict(Exited(33), PassingRun(9'910'000'000, 10 * kNsPerSec));
  EXPECT_EQ(verdict.verdict, Verdict::kPass) << verdict.reason;
}

TEST(ClockRateVerdictTest, GrosslyFastClockFailsAnOtherwisePassingRun) {
  VerdictWithReason verdict = DecideVerdict(Exited(33), PassingRun(4'100'000'000, 4 * kNsPerSec));
  EXPECT_EQ(verdict.verdict, Verdict::kFail);
  EXPECT_EQ(verdict.reason, "guest clock ran +25000 ppm against the host's over 4.0 s "
                            "(limit 10000 ppm)");
}

TEST(ClockRateVerdictTest, GrosslySlowClockFails) {
  VerdictWithReason verdict = DecideVerdict(Exited(33), PassingRun(1'900'000'000, 2 * kNsPerSec));
  EXPECT_EQ(verdict.verdict, Verdict::kFail);
  EXPECT_EQ(verdict.reason, "guest clock ran -50000 ppm against the host's over 2.0 s "
                            "(limit 10000 ppm)");
}

TEST(ClockRateVerdictTest, ShortRunIsNotFailedForItsClock) {
  VerdictWithReason verdict = DecideVerdict(Exited(33), PassingRun(900'000'000, 600'000'000));
  EXPECT_EQ(verdict.verdict, Verdict::kPass) << verdict.reason;
}

TEST(ClockRateVerdictTest, RunWithoutClockLinesStillPasses) {
  GuestLog log = ParseStamped({{"ok 1 a", 1}, {"1 passed, 0 failed, 0 skipped", 2}});
  EXPECT_EQ(DecideVerdict(Exited(33), log).verdict, Verdict::kPass);
}

TEST(ClockRateVerdictTest, MalformedClockLineFails) {
  GuestLog log =
      ParseStamped({{"clock: ns=0x10", 1}, {"ok 1 a", 2}, {"1 passed, 0 failed, 0 skipped", 3}});
  VerdictWithReason verdict = DecideVerdict(Exited(33), log);
  EXPECT_EQ(verdict.verdict, Verdict::kFail);
  EXPECT_EQ(verdict.reason,
            "1 clock line(s) without a decimal ns= value (first: \"clock: ns=0x10\")");
}

TEST(ClockRateVerdictTest, ACaseFailureIsReportedFirst) {
  GuestLog log = ParseStamped({{"clock: ns=0", 0},
                               {"not ok 1 time.reference # clock runs +30000 ppm", 1},
                               {"clock: ns=3090000000", 3 * kNsPerSec},
                               {"0 passed, 1 failed, 0 skipped", 3 * kNsPerSec}});
  VerdictWithReason verdict = DecideVerdict(Exited(35), log);
  EXPECT_EQ(verdict.verdict, Verdict::kFail);
  EXPECT_EQ(verdict.reason, "1 failed; first failure: time.reference (clock runs +30000 ppm)");
}

TEST(HostMonotonicTest, MovesForward) {
  const std::int64_t first = HostMonotonicNs();
  const std::int64_t second = HostMonotonicNs();
  EXPECT_GT(first, 0);
  EXPECT_GE(second, first);
}

}  // namespace
}  // namespace pvops_run
