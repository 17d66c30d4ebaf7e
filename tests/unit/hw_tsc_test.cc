// SPDX-License-Identifier: MIT
// The TSC clock (its frequency from CPUID 0x15, the hypervisor timing leaf, 0x16, or measured
// against the ACPI PM timer or the PIT; clock_ns scaled from the TSC and never going back).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <ctime>

#include "bare_metal_machine.h"
#include "hw/tsc.h"
#include "hw/tsc_calibration.h"

namespace pvops::test {
namespace {

using hw::TscSource;

class TscClockTest : public BareMetalMachineTest {};

TEST_F(TscClockTest, TscRateFromCpuid15) {
  Boot();  // 25 MHz crystal * 80 / 1
  EXPECT_EQ(hw::ClockSource(), TscSource::kCpuid15);
  EXPECT_EQ(pvops_tsc_khz(), kTscKhz);
  for (const sim::PortAccess& a : sim_.port_log()) EXPECT_NE(a.port, 0x61u);  // no PIT needed
}

TEST_F(TscClockTest, Cpuid15WithAZeroDenominatorFallsToCpuid16) {
  model_.tsc_ratio_denominator = 0;
  model_.base_mhz = 2100;
  Boot();
  EXPECT_EQ(hw::ClockSource(), TscSource::kCpuid16);
  EXPECT_EQ(pvops_tsc_khz(), 2'100'000u);
}

TEST_F(TscClockTest, AnAbsurdCpuid15RateIsNotBelieved) {
  model_.crystal_hz = 0xffffffff;
  model_.tsc_ratio_numerator = 1000;  // 4.3 THz
  Boot();
  EXPECT_EQ(hw::ClockSource(), TscSource::kCpuid16);
  EXPECT_EQ(pvops_tsc_khz(), 2'000'000u);
}

TEST_F(TscClockTest, LeavesAboveTheMaximumBasicLeafAreNotRead) {
  // The table still holds 0x15 and 0x16, but CPUID 0 says they do not exist (under TCG they
  // would echo leaf 0xd): the rate must be measured, here against the PIT.
  model_.max_basic_leaf = 0xd;
  sim_.SetTicksPerInstruction(1000);
  sim::SimPit pit(sim_, 3'000'000);
  Boot();
  EXPECT_EQ(hw::ClockSource(), TscSource::kPit);
  const hw::TscMeasurement m = hw::ClockMeasurement();
  EXPECT_LE(m.bound_ppm, hw::kCalibrationTargetPpm);
  EXPECT_NEAR(static_cast<double>(pvops_tsc_khz()), 3e6, 3e6 * m.bound_ppm / 1e6);
}

TEST_F(TscClockTest, PitCalibrationUsesChannel2AsAFreeRunningRateGenerator) {
  model_.max_basic_leaf = 0xd;
  sim_.SetTicksPerInstruction(1000);
  sim::SimPit pit(sim_, 1'500'000);
  sim_.ClearLogs();
  const hw::TscMeasurement m = hw::MeasureTscAgainstPit();
  EXPECT_NEAR(static_cast<double>(m.khz), 1.5e6, 1.5e6 * m.bound_ppm / 1e6);
  EXPECT_GE(m.window_us, 10'000u);
  const std::vector<uint32_t> commands = sim_.PortWrites(0x43);
  ASSERT_FALSE(commands.empty());
  EXPECT_EQ(commands[0], 0xb4u);  // channel 2, low/high byte, mode 2, binary
  for (size_t i = 1; i < commands.size(); ++i) EXPECT_EQ(commands[i], 0x80u);  // latches
  EXPECT_THAT(sim_.PortWrites(0x42), ::testing::ElementsAre(0u, 0u));          // reload 65536
  const std::vector<uint32_t> port_b = sim_.PortWrites(0x61);
  ASSERT_EQ(port_b.size(), 2u);
  EXPECT_EQ(port_b[0] & 3u, 1u);  // gate on, speaker off
  // Windows longer than the counter's 55 ms wrap are followed through it.
  EXPECT_GT(pit.latches(), 100u);
}

// A calibration that counts the port reads' latency as counter time comes out high (one 20 ms
// PIT run under TCG did: envs/native/README.md). Every reading here costs an exit of 2..30 us
// at random; the measurement's own bound must still hold the truth.
TEST_F(TscClockTest, SlowJitteryReadsCostAWiderWindowNotAWrongRate) {
  model_.max_basic_leaf = 0xd;
  constexpr uint64_t kTrueKhz = 2'596'140;
  sim_.SetTicksPerInstruction(100);
  sim::SimPmTimer timer(sim_, 0x608, kTrueKhz);
  uint64_t seed = 12345;
  timer.OnRead([&] {
    seed = seed * 6364136223846793005u + 1442695040888963407u;
    sim_.AdvanceTsc(kTrueKhz * (2 + (seed >> 33) % 29) / 1000);  // 2..30 us
  });
  const hw::TscMeasurement m = hw::MeasureTscAgainstPmTimer({0x608, 0xffffff});
  ASSERT_NE(m.khz, 0u);
  const double error_ppm = (static_cast<double>(m.khz) - kTrueKhz) / kTrueKhz * 1e6;
  EXPECT_LE(std::abs(error_ppm), m.bound_ppm) << "the bound is a promise";
  EXPECT_LE(m.bound_ppm, 200u);
  EXPECT_GT(m.window_us, 20'000u) << "slow reads need a longer window";
}

TEST_F(TscClockTest, TheAcpiPmTimerComesBeforeThePit) {
  model_.max_basic_leaf = 0xd;
  sim_.SetTicksPerInstruction(1000);
  sim::SimPit pit(sim_, 2'100'000);
  sim::SimAcpiTables acpi(sim_, {});
  sim::SimPmTimer timer(sim_, 0x608, 2'100'000);
  Boot();
  EXPECT_EQ(hw::ClockSource(), TscSource::kPmTimer);
  EXPECT_EQ(pit.latches(), 0u);
  const hw::TscMeasurement m = hw::ClockMeasurement();
  EXPECT_LE(m.bound_ppm, hw::kCalibrationTargetPpm);
  EXPECT_NEAR(static_cast<double>(pvops_tsc_khz()), 2.1e6, 2.1e6 * m.bound_ppm / 1e6);
  EXPECT_NE(strstr(pvops_get_info()->notes, "from the ACPI PM timer"), nullptr)
      << pvops_get_info()->notes;
}

TEST_F(TscClockTest, APmTimerThatDoesNotCountFallsToThePit) {
  model_.max_basic_leaf = 0xd;
  sim_.SetTicksPerInstruction(1000);
  sim::SimPit pit(sim_, 2'100'000);
  sim::SimAcpiTables acpi(sim_, {});  // port 0x608 has no device: it reads all ones
  Boot();
  EXPECT_EQ(hw::ClockSource(), TscSource::kPit);
  EXPECT_NEAR(static_cast<double>(pvops_tsc_khz()), 2.1e6, 2.1e6 * 50 / 1e6);
}

// A counter that stops counting real time (here: jumps ahead, then runs ever faster) must not
// yield a rate: in every window the two halves disagree, and every window is refused.
TEST_F(TscClockTest, ACounterThatJumpsIsRefused) {
  model_.max_basic_leaf = 0xd;
  sim_.SetTicksPerInstruction(1000);
  uint32_t reads = 0;
  uint64_t fast_from = 0;
  // Garbage from the hypervisor: after some reads the value runs 20% fast and speeding up.
  sim_.HandlePorts(
      0x700, 0x703,
      [&](uint16_t, uint8_t) -> uint32_t {
        const uint64_t ticks = sim_.tsc() * sim::SimPmTimer::kHz / 2'000'000'000;
        if (++reads == 3000) fast_from = ticks;
        if (fast_from == 0) return static_cast<uint32_t>(ticks);
        const uint64_t since = ticks - fast_from;
        return static_cast<uint32_t>(ticks + since / 5 + since * since / 100'000'000);
      },
      nullptr);
  const hw::TscMeasurement m = hw::MeasureTscAgainstPmTimer({0x700, 0xffffffff});
  EXPECT_EQ(m.khz, 0u);
  EXPECT_EQ(m.attempts, hw::kCalibrationAttempts);
}

// A vCPU descheduled for longer than the counter's wrap (the PIT's: 55 ms) loses count in that
// window: the window is refused and the next one gives the rate.
TEST_F(TscClockTest, AWindowThatLostAWrapIsMeasuredAgain) {
  model_.max_basic_leaf = 0xd;
  constexpr uint64_t kTrueKhz = 2'100'000;
  sim_.SetTicksPerInstruction(1000);
  sim::SimPmTimer timer(sim_, 0x608, kTrueKhz);  // 24 bits: wraps every 4.69 s
  timer.OnRead([&] {
    if (timer.reads() == 5000) sim_.AdvanceTsc(kTrueKhz * 5'000);  // 5 s away, once
  });
  const hw::TscMeasurement m = hw::MeasureTscAgainstPmTimer({0x608, 0xffffff});
  ASSERT_NE(m.khz, 0u);
  EXPECT_EQ(m.attempts, 2u);
  EXPECT_NEAR(static_cast<double>(m.khz), kTrueKhz, kTrueKhz * m.bound_ppm / 1e6);
}

TEST_F(TscClockTest, TheHypervisorTimingLeafStatesTheRate) {
  model_.max_basic_leaf = 0xd;
  model_.hypervisor_bit = true;
  sim_.SetHypervisorLeaf(0x40000000, 0x40000010, "TCGTCGTCGTCG");
  sim_.SetCpuid(0x40000010, {2'345'678, 1'000'000, 0, 0});
  Boot();
  EXPECT_EQ(hw::ClockSource(), TscSource::kTimingLeaf);
  EXPECT_EQ(pvops_tsc_khz(), 2'345'678u);
}

TEST_F(TscClockTest, ATimingLeafOutsideTheHypervisorBlockIsNotRead) {
  model_.max_basic_leaf = 0xd;
  model_.hypervisor_bit = true;
  sim_.SetHypervisorLeaf(0x40000000, 0x40000001, "TCGTCGTCGTCG");
  sim_.SetCpuid(0x40000010, {2'345'678, 1'000'000, 0, 0});
  sim_.SetTicksPerInstruction(1000);
  sim::SimPit pit(sim_, 2'000'000);
  Boot();
  EXPECT_EQ(hw::ClockSource(), TscSource::kPit);
}

TEST_F(TscClockTest, WithoutAnyRateTheClockCountsTicks) {
  model_.max_basic_leaf = 0xd;  // and no PIT: port 0x61 reads 0xff, OUT2 "already high"
  Boot();
  EXPECT_EQ(hw::ClockSource(), TscSource::kNone);
  EXPECT_EQ(pvops_tsc_khz(), 0u);
  sim_.SetTicksPerInstruction(0);
  const uint64_t a = pvops_clock_ns();
  sim_.AdvanceTsc(12345);
  EXPECT_EQ(pvops_clock_ns() - a, 12345u);
}

TEST_F(TscClockTest, ClockNsScalesTheTscExactly) {
  Boot();
  sim_.SetTicksPerInstruction(0);
  const uint64_t a = pvops_clock_ns();
  sim_.AdvanceTsc(2 * kTscKhz * 1000);  // two seconds of ticks at 2 GHz
  EXPECT_EQ(pvops_clock_ns() - a, 2'000'000'000u);
  EXPECT_EQ(a, sim_.tsc() / 2 - 2'000'000'000);
}

TEST_F(TscClockTest, ClockNsNeverGoesBackwards) {
  Boot();
  const uint64_t a = pvops_clock_ns();
  sim_.SetTsc(sim_.tsc() - 1'000'000);  // a CPU whose TSC lags by half a millisecond
  const uint64_t b = pvops_clock_ns();
  EXPECT_EQ(b, a);
  sim_.AdvanceTsc(4'000'000);
  EXPECT_GT(pvops_clock_ns(), a);
}

TEST_F(TscClockTest, ClockReadsTheTscOnlyAfterCalibration) {
  Boot();
  sim_.ResetExits();
  (void)pvops_clock_ns();
  EXPECT_EQ(sim_.exits(sim::Exit::kRdtsc), 1u);
  EXPECT_EQ(sim_.total_exits(), 1u);
}

}  // namespace
}  // namespace pvops::test
