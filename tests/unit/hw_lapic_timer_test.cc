// SPDX-License-Identifier: MIT
// timer_oneshot on the LAPIC: TSC-deadline mode when CPUID says so, else one-shot mode with a
// count from the APIC timer rate (CPUID 0x15's crystal, or measured against the TSC).
#include <gtest/gtest.h>

#include "bare_metal_machine.h"
#include "hw/lapic_timer.h"

namespace pvops::test {
namespace {

constexpr uint32_t kLvtMasked = 1u << 16;
constexpr uint32_t kLvtTscDeadline = 2u << 17;
constexpr uint32_t kDivideBy1 = 0xb;

class LapicTimerTest : public BareMetalMachineTest {};

TEST_F(LapicTimerTest, TscDeadlineModeProgramsTheLvtThenTheDeadlineMsr) {
  model_.tsc_deadline = true;
  lapic_.SetTscDeadlineMsr(true);
  Boot();
  uint32_t lvt_at_msr_write = 0;
  sim_.HandleMsrs(0x6e0, 0x6e0, nullptr, [&](uint32_t, uint64_t) {
    lvt_at_msr_write = lapic_.lvt_timer(0);
    return true;
  });
  const uint64_t deadline = pvops_clock_ns() + 1'000'000;
  ASSERT_EQ(pvops_timer_oneshot(deadline, 0x40), PVOPS_OK);
  EXPECT_EQ(lvt_at_msr_write, kLvtTscDeadline | 0x40);
  const std::vector<uint64_t> writes = sim_.MsrWrites(0x6e0);
  ASSERT_EQ(writes.size(), 1u);
  // 2 ticks per ns: never before the deadline, and late only by the few instructions it took.
  EXPECT_GE(writes[0], 2 * deadline);
  EXPECT_LE(writes[0], 2 * deadline + 2000);
  EXPECT_EQ(core::CounterValue(core::Counter::kTimerArms), 1u);
}

TEST_F(LapicTimerTest, TscDeadlineInThePastFiresAtOnce) {
  model_.tsc_deadline = true;
  lapic_.SetTscDeadlineMsr(true);
  Boot();
  ASSERT_EQ(pvops_timer_oneshot(1, 0x40), PVOPS_OK);
  const uint64_t now = sim_.tsc();
  const uint64_t written = lapic_.tsc_deadline(0);
  EXPECT_GT(written, 0u);  // 0 would disarm
  EXPECT_LE(written, now + 1);
}

TEST_F(LapicTimerTest, CancelDisarmsBothModes) {
  model_.tsc_deadline = true;
  lapic_.SetTscDeadlineMsr(true);
  Boot();
  ASSERT_EQ(pvops_timer_oneshot(pvops_clock_ns() + 5'000'000, 0x40), PVOPS_OK);
  ASSERT_EQ(pvops_timer_oneshot(0, 0x40), PVOPS_OK);
  EXPECT_EQ(lapic_.tsc_deadline(0), 0u);
  EXPECT_EQ(lapic_.timer_initial_count(0), 0u);
  EXPECT_NE(lapic_.lvt_timer(0) & kLvtMasked, 0u);
}

TEST_F(LapicTimerTest, OneShotCountComesFromTheCrystalRate) {
  Boot();  // no TSC-deadline bit; CPUID 0x15 names a 25 MHz crystal
  EXPECT_EQ(hw::ApicTimerHz(), uint64_t{kCrystalHz});
  const uint64_t deadline = pvops_clock_ns() + 1'000'000;
  ASSERT_EQ(pvops_timer_oneshot(deadline, 0x41), PVOPS_OK);
  EXPECT_EQ(lapic_.lvt_timer(0), 0x41u);  // one-shot, unmasked
  EXPECT_EQ(lapic_.timer_divide(0), kDivideBy1);
  // 1 ms at 25 MHz, less the few ns spent arming, plus the one tick of rounding up.
  EXPECT_LE(lapic_.timer_initial_count(0), 25'001u);
  EXPECT_GE(lapic_.timer_initial_count(0), 24'990u);
  EXPECT_TRUE(sim_.MsrWrites(0x6e0).empty());
}

TEST_F(LapicTimerTest, WithoutACrystalTheTimerRateIsMeasuredAgainstTheTsc) {
  model_.crystal_hz = 0;  // TSC rate then comes from CPUID 0x16: 2000 MHz
  Boot();
  lapic_.SetTimerTicksPerTsc(1, 2);  // 1 GHz
  const uint64_t hz = hw::ApicTimerHz();
  EXPECT_NEAR(static_cast<double>(hz), 1e9, 1e6);
  EXPECT_NE(lapic_.lvt_timer(0) & kLvtMasked, 0u);  // masked while measuring
  EXPECT_EQ(lapic_.timer_initial_count(0), 0u);     // stopped afterwards
  ASSERT_EQ(pvops_timer_oneshot(pvops_clock_ns() + 1'000'000, 0x42), PVOPS_OK);
  EXPECT_NEAR(static_cast<double>(lapic_.timer_initial_count(0)), 1e6, 2e3);
}

TEST_F(LapicTimerTest, FarDeadlinesUseTheDivider) {
  Boot();
  // 1000 s at 25 MHz = 2.5e10 ticks: 2^32 fits only after dividing by 8.
  ASSERT_EQ(pvops_timer_oneshot(pvops_clock_ns() + 1'000'000'000'000, 0x43), PVOPS_OK);
  EXPECT_EQ(sim::SimLapic::Divisor(lapic_.timer_divide(0)), 8u);
  EXPECT_NEAR(static_cast<double>(lapic_.timer_initial_count(0)), 3.125e9, 1e3);
}

TEST_F(LapicTimerTest, DeadlinesBeyondTheLargestCountAreRefused) {
  Boot();
  EXPECT_EQ(pvops_timer_oneshot(pvops_clock_ns() + 100'000'000'000'000, 0x43), PVOPS_ERR_INVALID);
  EXPECT_EQ(core::CounterValue(core::Counter::kTimerArms), 0u);
}

TEST_F(LapicTimerTest, ExceptionVectorsAreRefused) {
  Boot();
  EXPECT_EQ(pvops_timer_oneshot(pvops_clock_ns() + 1000, 14), PVOPS_ERR_INVALID);
}

TEST_F(LapicTimerTest, TscDeadlineWithoutAKnownTscRateIsUnsupported) {
  model_.max_basic_leaf = 0xd;  // neither 0x15 nor 0x16, and no PIT answers
  model_.tsc_deadline = true;
  lapic_.SetTscDeadlineMsr(true);
  Boot();
  EXPECT_EQ(pvops_tsc_khz(), 0u);
  EXPECT_EQ(pvops_timer_oneshot(pvops_clock_ns() + 1000, 0x40), PVOPS_ERR_UNSUPPORTED);
}

}  // namespace
}  // namespace pvops::test

namespace pvops::test {
namespace {

uint32_t g_timer_hits;
void CountTimerHit(uint8_t, void*) { ++g_timer_hits; }

// The LAPIC timer counts real time, clock_ns a measured TSC rate: when the two disagree the
// interrupt can come before clock_ns shows the deadline. The handler must not run then; the
// timer is armed again for the rest, and the handler runs once when the deadline has passed.
TEST_F(LapicTimerTest, AnEarlyTimerInterruptIsReArmedNotDelivered) {
  model_.tsc_deadline = true;
  lapic_.SetTscDeadlineMsr(true);
  Boot();
  sim_.SetTicksPerInstruction(0);
  g_timer_hits = 0;
  ASSERT_EQ(pvops_register_handler(0x40, CountTimerHit, nullptr), PVOPS_OK);
  const uint64_t deadline = pvops_clock_ns() + 1'000'000;
  ASSERT_EQ(pvops_timer_oneshot(deadline, 0x40), PVOPS_OK);
  ASSERT_EQ(sim_.MsrWrites(0x6e0).size(), 1u);
  const uint64_t first_target = sim_.MsrWrites(0x6e0)[0];

  sim_.AdvanceTsc(2 * 970'000);  // 30 us short of the deadline by clock_ns
  pvops_handle_interrupt(0x40);
  EXPECT_EQ(g_timer_hits, 0u) << "delivered before clock_ns reached the deadline";
  EXPECT_EQ(lapic_.eoi_count(0), 1u) << "the early interrupt is still acknowledged";
  EXPECT_EQ(pvops_get_counter("timer_early_rearms"), 1u);
  ASSERT_EQ(sim_.MsrWrites(0x6e0).size(), 2u);
  // The rest: the same deadline (within the one tick of rounding up).
  EXPECT_GE(sim_.MsrWrites(0x6e0)[1], first_target);
  EXPECT_LE(sim_.MsrWrites(0x6e0)[1], first_target + 2);

  // Early again (the device's clock still runs ahead): now past the deadline, so a device
  // that already saw it does not fire at once, forever.
  pvops_handle_interrupt(0x40);
  EXPECT_EQ(g_timer_hits, 0u);
  ASSERT_EQ(sim_.MsrWrites(0x6e0).size(), 3u);
  EXPECT_GE(sim_.MsrWrites(0x6e0)[2], first_target + 2 * 100'000);

  sim_.AdvanceTsc(2 * 130'000);  // past the deadline
  pvops_handle_interrupt(0x40);
  EXPECT_EQ(g_timer_hits, 1u);
  EXPECT_EQ(pvops_get_counter("timer_early_rearms"), 2u);
  EXPECT_EQ(sim_.MsrWrites(0x6e0).size(), 3u) << "a due timer is not armed again";
  ASSERT_EQ(pvops_register_handler(0x40, nullptr, nullptr), PVOPS_OK);
}

// Another source on the timer's vector (or a timer cancelled too late to stop its interrupt)
// is not the one-shot's business: delivered as before.
TEST_F(LapicTimerTest, AnInterruptWithNoOneShotArmedIsDelivered) {
  Boot();
  g_timer_hits = 0;
  ASSERT_EQ(pvops_register_handler(0x41, CountTimerHit, nullptr), PVOPS_OK);
  ASSERT_EQ(pvops_timer_oneshot(pvops_clock_ns() + 1'000'000, 0x41), PVOPS_OK);
  ASSERT_EQ(pvops_timer_oneshot(0, 0x41), PVOPS_OK);
  pvops_handle_interrupt(0x41);
  EXPECT_EQ(g_timer_hits, 1u);
  EXPECT_EQ(pvops_get_counter("timer_early_rearms"), 0u);
  ASSERT_EQ(pvops_register_handler(0x41, nullptr, nullptr), PVOPS_OK);
}

}  // namespace
}  // namespace pvops::test
