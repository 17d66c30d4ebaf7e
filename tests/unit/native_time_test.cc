// The native clock (TSC frequency from CPUID 0x15, the hypervisor timing leaf, 0x16, or measured
// against the ACPI PM timer or the PIT; clock_ns scaled from the TSC and never going back) and
// the CMOS wall clock.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <ctime>

#include "backends/native/native_time.h"
#include "native_machine.h"

namespace pvops::test {
namespace {

using native::TscSource;

class NativeClockTest : public NativeMachineTest {};

TEST_F(NativeClockTest, TscRateFromCpuid15) {
  Boot();  // 25 MHz crystal * 80 / 1
  EXPECT_EQ(native::ClockSource(), TscSource::kCpuid15);
  EXPECT_EQ(pvops_tsc_khz(), kTscKhz);
  for (const sim::PortAccess& a : sim_.port_log()) EXPECT_NE(a.port, 0x61u);  // no PIT needed
}

TEST_F(NativeClockTest, Cpuid15WithAZeroDenominatorFallsToCpuid16) {
  model_.tsc_ratio_denominator = 0;
  model_.base_mhz = 2100;
  Boot();
  EXPECT_EQ(native::ClockSource(), TscSource::kCpuid16);
  EXPECT_EQ(pvops_tsc_khz(), 2'100'000u);
}

TEST_F(NativeClockTest, AnAbsurdCpuid15RateIsNotBelieved) {
  model_.crystal_hz = 0xffffffff;
  model_.tsc_ratio_numerator = 1000;  // 4.3 THz
  Boot();
  EXPECT_EQ(native::ClockSource(), TscSource::kCpuid16);
  EXPECT_EQ(pvops_tsc_khz(), 2'000'000u);
}

TEST_F(NativeClockTest, LeavesAboveTheMaximumBasicLeafAreNotRead) {
  // The table still holds 0x15 and 0x16, but CPUID 0 says they do not exist (under TCG they
  // would echo leaf 0xd): the rate must be measured, here against the PIT.
  model_.max_basic_leaf = 0xd;
  sim_.SetTicksPerInstruction(1000);
  sim::SimPit pit(sim_, 3'000'000);
  Boot();
  EXPECT_EQ(native::ClockSource(), TscSource::kPit);
  const native::TscMeasurement m = native::ClockMeasurement();
  EXPECT_LE(m.bound_ppm, native::kCalibrationTargetPpm);
  EXPECT_NEAR(static_cast<double>(pvops_tsc_khz()), 3e6, 3e6 * m.bound_ppm / 1e6);
}

TEST_F(NativeClockTest, PitCalibrationUsesChannel2AsAFreeRunningRateGenerator) {
  model_.max_basic_leaf = 0xd;
  sim_.SetTicksPerInstruction(1000);
  sim::SimPit pit(sim_, 1'500'000);
  sim_.ClearLogs();
  const native::TscMeasurement m = native::MeasureTscAgainstPit();
  EXPECT_NEAR(static_cast<double>(m.khz), 1.5e6, 1.5e6 * m.bound_ppm / 1e6);
  EXPECT_GE(m.window_us, 10'000u);
  const std::vector<uint32_t> commands = sim_.PortWrites(0x43);
  ASSERT_FALSE(commands.empty());
  EXPECT_EQ(commands[0], 0xb4u);  // channel 2, low/high byte, mode 2, binary
  for (size_t i = 1; i < commands.size(); ++i) EXPECT_EQ(commands[i], 0x80u);  // latches
  EXPECT_THAT(sim_.PortWrites(0x42), ::testing::ElementsAre(0u, 0u));  // reload 65536
  const std::vector<uint32_t> port_b = sim_.PortWrites(0x61);
  ASSERT_EQ(port_b.size(), 2u);
  EXPECT_EQ(port_b[0] & 3u, 1u);  // gate on, speaker off
  // Windows longer than the counter's 55 ms wrap are followed through it.
  EXPECT_GT(pit.latches(), 100u);
}

// Linux's and this library's old calibration polled one 20 ms PIT run: under TCG the port
// reads' latency made the rate 0.1% to 0.3% high. Every reading here costs an exit of
// 2..30 us at random; the measurement's own bound must still hold the truth.
TEST_F(NativeClockTest, SlowJitteryReadsCostAWiderWindowNotAWrongRate) {
  model_.max_basic_leaf = 0xd;
  constexpr uint64_t kTrueKhz = 2'596'140;
  sim_.SetTicksPerInstruction(100);
  sim::SimPmTimer timer(sim_, 0x608, kTrueKhz);
  uint64_t seed = 12345;
  timer.OnRead([&] {
    seed = seed * 6364136223846793005u + 1442695040888963407u;
    sim_.AdvanceTsc(kTrueKhz * (2 + (seed >> 33) % 29) / 1000);  // 2..30 us
  });
  const native::TscMeasurement m = native::MeasureTscAgainstPmTimer({0x608, 0xffffff});
  ASSERT_NE(m.khz, 0u);
  const double error_ppm = (static_cast<double>(m.khz) - kTrueKhz) / kTrueKhz * 1e6;
  EXPECT_LE(std::abs(error_ppm), m.bound_ppm) << "the bound is a promise";
  EXPECT_LE(m.bound_ppm, 200u);
  EXPECT_GT(m.window_us, 20'000u) << "slow reads need a longer window";
}

TEST_F(NativeClockTest, TheAcpiPmTimerComesBeforeThePit) {
  model_.max_basic_leaf = 0xd;
  sim_.SetTicksPerInstruction(1000);
  sim::SimPit pit(sim_, 2'100'000);
  sim::SimAcpiTables acpi(sim_, {});
  sim::SimPmTimer timer(sim_, 0x608, 2'100'000);
  Boot();
  EXPECT_EQ(native::ClockSource(), TscSource::kPmTimer);
  EXPECT_EQ(pit.latches(), 0u);
  const native::TscMeasurement m = native::ClockMeasurement();
  EXPECT_LE(m.bound_ppm, native::kCalibrationTargetPpm);
  EXPECT_NEAR(static_cast<double>(pvops_tsc_khz()), 2.1e6, 2.1e6 * m.bound_ppm / 1e6);
  EXPECT_NE(strstr(pvops_get_info()->notes, "from the ACPI PM timer"), nullptr)
      << pvops_get_info()->notes;
}

TEST_F(NativeClockTest, APmTimerThatDoesNotCountFallsToThePit) {
  model_.max_basic_leaf = 0xd;
  sim_.SetTicksPerInstruction(1000);
  sim::SimPit pit(sim_, 2'100'000);
  sim::SimAcpiTables acpi(sim_, {});  // port 0x608 has no device: it reads all ones
  Boot();
  EXPECT_EQ(native::ClockSource(), TscSource::kPit);
  EXPECT_NEAR(static_cast<double>(pvops_tsc_khz()), 2.1e6, 2.1e6 * 50 / 1e6);
}

// A counter that stops counting real time (here: jumps ahead, then runs ever faster) must not
// yield a rate: in every window the two halves disagree, and every window is refused.
TEST_F(NativeClockTest, ACounterThatJumpsIsRefused) {
  model_.max_basic_leaf = 0xd;
  sim_.SetTicksPerInstruction(1000);
  uint32_t reads = 0;
  uint64_t fast_from = 0;
  // Garbage from the hypervisor: after some reads the value runs 20% fast and speeding up.
  sim_.HandlePorts(0x700, 0x703, [&](uint16_t, uint8_t) -> uint32_t {
    const uint64_t ticks = sim_.tsc() * sim::SimPmTimer::kHz / 2'000'000'000;
    if (++reads == 3000) fast_from = ticks;
    if (fast_from == 0) return static_cast<uint32_t>(ticks);
    const uint64_t since = ticks - fast_from;
    return static_cast<uint32_t>(ticks + since / 5 + since * since / 100'000'000);
  }, nullptr);
  const native::TscMeasurement m = native::MeasureTscAgainstPmTimer({0x700, 0xffffffff});
  EXPECT_EQ(m.khz, 0u);
  EXPECT_EQ(m.attempts, native::kCalibrationAttempts);
}

// A vCPU descheduled for longer than the counter's wrap loses count in that window (seen in CI
// on the PIT, whose wrap is 55 ms): the window is refused and the next one gives the rate.
TEST_F(NativeClockTest, AWindowThatLostAWrapIsMeasuredAgain) {
  model_.max_basic_leaf = 0xd;
  constexpr uint64_t kTrueKhz = 2'100'000;
  sim_.SetTicksPerInstruction(1000);
  sim::SimPmTimer timer(sim_, 0x608, kTrueKhz);  // 24 bits: wraps every 4.69 s
  timer.OnRead([&] {
    if (timer.reads() == 5000) sim_.AdvanceTsc(kTrueKhz * 5'000);  // 5 s away, once
  });
  const native::TscMeasurement m = native::MeasureTscAgainstPmTimer({0x608, 0xffffff});
  ASSERT_NE(m.khz, 0u);
  EXPECT_EQ(m.attempts, 2u);
  EXPECT_NEAR(static_cast<double>(m.khz), kTrueKhz, kTrueKhz * m.bound_ppm / 1e6);
}

TEST_F(NativeClockTest, TheHypervisorTimingLeafStatesTheRate) {
  model_.max_basic_leaf = 0xd;
  model_.hypervisor_bit = true;
  sim_.SetHypervisorLeaf(0x40000000, 0x40000010, "TCGTCGTCGTCG");
  sim_.SetCpuid(0x40000010, {2'345'678, 1'000'000, 0, 0});
  Boot();
  EXPECT_EQ(native::ClockSource(), TscSource::kTimingLeaf);
  EXPECT_EQ(pvops_tsc_khz(), 2'345'678u);
}

TEST_F(NativeClockTest, ATimingLeafOutsideTheHypervisorBlockIsNotRead) {
  model_.max_basic_leaf = 0xd;
  model_.hypervisor_bit = true;
  sim_.SetHypervisorLeaf(0x40000000, 0x40000001, "TCGTCGTCGTCG");
  sim_.SetCpuid(0x40000010, {2'345'678, 1'000'000, 0, 0});
  sim_.SetTicksPerInstruction(1000);
  sim::SimPit pit(sim_, 2'000'000);
  Boot();
  EXPECT_EQ(native::ClockSource(), TscSource::kPit);
}

TEST_F(NativeClockTest, WithoutAnyRateTheClockCountsTicks) {
  model_.max_basic_leaf = 0xd;  // and no PIT: port 0x61 reads 0xff, OUT2 "already high"
  Boot();
  EXPECT_EQ(native::ClockSource(), TscSource::kNone);
  EXPECT_EQ(pvops_tsc_khz(), 0u);
  sim_.SetTicksPerInstruction(0);
  const uint64_t a = pvops_clock_ns();
  sim_.AdvanceTsc(12345);
  EXPECT_EQ(pvops_clock_ns() - a, 12345u);
}

TEST_F(NativeClockTest, ClockNsScalesTheTscExactly) {
  Boot();
  sim_.SetTicksPerInstruction(0);
  const uint64_t a = pvops_clock_ns();
  sim_.AdvanceTsc(2 * kTscKhz * 1000);  // two seconds of ticks at 2 GHz
  EXPECT_EQ(pvops_clock_ns() - a, 2'000'000'000u);
  EXPECT_EQ(a, sim_.tsc() / 2 - 2'000'000'000);
}

TEST_F(NativeClockTest, ClockNsNeverGoesBackwards) {
  Boot();
  const uint64_t a = pvops_clock_ns();
  sim_.SetTsc(sim_.tsc() - 1'000'000);  // a CPU whose TSC lags by half a millisecond
  const uint64_t b = pvops_clock_ns();
  EXPECT_EQ(b, a);
  sim_.AdvanceTsc(4'000'000);
  EXPECT_GT(pvops_clock_ns(), a);
}

TEST_F(NativeClockTest, ClockReadsTheTscOnlyAfterCalibration) {
  Boot();
  sim_.ResetExits();
  (void)pvops_clock_ns();
  EXPECT_EQ(sim_.exits(sim::Exit::kRdtsc), 1u);
  EXPECT_EQ(sim_.total_exits(), 1u);
}

TEST_F(NativeClockTest, StealTimeIsZero) {
  Boot();
  EXPECT_EQ(pvops_steal_ns(0), 0u);
}

// ---- wall clock --------------------------------------------------------------------------

class NativeWallClockTest : public NativeMachineTest {
 protected:
  void SetUp() override { Boot(); }

  static uint64_t Epoch(int year, int month, int day, int hour, int minute, int second) {
    std::tm tm{};
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    return static_cast<uint64_t>(timegm(&tm));
  }

  sim::SimCmosRtc rtc_{sim_};
};

TEST_F(NativeWallClockTest, BcdTwentyFourHourTime) {
  rtc_.SetBcdTime(2024, 2, 29, 13, 45, 30);
  pvops_wall_clock wc{};
  ASSERT_EQ(pvops_get_wall_clock(&wc), PVOPS_OK);
  EXPECT_EQ(wc.sec, Epoch(2024, 2, 29, 13, 45, 30));
  EXPECT_EQ(wc.nsec, 0u);
}

TEST_F(NativeWallClockTest, BinaryTwelveHourTime) {
  rtc_.Set(0x00, 5);
  rtc_.Set(0x02, 59);
  rtc_.Set(0x04, 0x80 | 11);  // 11 PM
  rtc_.Set(0x07, 31);
  rtc_.Set(0x08, 12);
  rtc_.Set(0x09, 99);
  rtc_.Set(0x32, 19);
  rtc_.Set(0x0b, 0x04);  // binary, 12-hour
  pvops_wall_clock wc{};
  ASSERT_EQ(pvops_get_wall_clock(&wc), PVOPS_OK);
  EXPECT_EQ(wc.sec, Epoch(1999, 12, 31, 23, 59, 5));
}

TEST_F(NativeWallClockTest, TwelveAmIsMidnight) {
  rtc_.SetBcdTime(2030, 1, 1, 12, 0, 0);
  rtc_.Set(0x0b, 0x00);  // BCD, 12-hour: 0x12 without the PM bit
  pvops_wall_clock wc{};
  ASSERT_EQ(pvops_get_wall_clock(&wc), PVOPS_OK);
  EXPECT_EQ(wc.sec, Epoch(2030, 1, 1, 0, 0, 0));
}

TEST_F(NativeWallClockTest, AnImplausibleCenturyRegisterIsIgnored) {
  rtc_.SetBcdTime(2024, 7, 4, 1, 2, 3);
  rtc_.Set(0x32, 0xff);
  pvops_wall_clock wc{};
  ASSERT_EQ(pvops_get_wall_clock(&wc), PVOPS_OK);
  EXPECT_EQ(wc.sec, Epoch(2024, 7, 4, 1, 2, 3));  // two-digit year 24 pivots to 2024
}

TEST_F(NativeWallClockTest, ReadsAreRetriedUntilTwoAgree) {
  rtc_.SetBcdTime(2024, 1, 1, 0, 0, 58);
  int seconds_reads = 0;
  rtc_.OnRead([&](uint8_t reg) {
    if (reg == 0x00 && ++seconds_reads == 2) rtc_.Set(0x00, 0x59);  // ticks between reads
  });
  pvops_wall_clock wc{};
  ASSERT_EQ(pvops_get_wall_clock(&wc), PVOPS_OK);
  EXPECT_EQ(wc.sec, Epoch(2024, 1, 1, 0, 0, 59));
  EXPECT_EQ(seconds_reads, 4);  // 58 then 59 disagree; 59 and 59 agree
}

TEST_F(NativeWallClockTest, WaitsForTheUpdateToFinish) {
  rtc_.SetBcdTime(2024, 1, 1, 0, 0, 0);
  rtc_.SetUpdateInProgressReads(3);
  pvops_wall_clock wc{};
  EXPECT_EQ(pvops_get_wall_clock(&wc), PVOPS_OK);
}

TEST_F(NativeWallClockTest, AnUpdateThatNeverEndsTimesOut) {
  rtc_.SetBcdTime(2024, 1, 1, 0, 0, 0);
  rtc_.SetUpdateInProgressReads(0xffffffff);
  pvops_wall_clock wc{};
  EXPECT_EQ(pvops_get_wall_clock(&wc), PVOPS_ERR_TIMEOUT);
}

TEST_F(NativeWallClockTest, InvalidFieldsAreBadData) {
  struct Case {
    uint8_t reg, value;
  };
  for (const Case c : {Case{0x00, 0x1a}, Case{0x00, 0x60}, Case{0x02, 0x60}, Case{0x04, 0x24},
                       Case{0x07, 0x00}, Case{0x07, 0x32}, Case{0x08, 0x13}, Case{0x08, 0x00}}) {
    rtc_.SetBcdTime(2023, 6, 15, 10, 20, 30);
    rtc_.Set(c.reg, c.value);
    pvops_wall_clock wc{};
    EXPECT_EQ(pvops_get_wall_clock(&wc), PVOPS_ERR_BAD_DATA)
        << "register " << int{c.reg} << " = 0x" << std::hex << int{c.value};
  }
}

TEST_F(NativeWallClockTest, DaysPastTheEndOfTheMonthAreBadData) {
  rtc_.SetBcdTime(2023, 2, 29, 0, 0, 0);  // not a leap year
  pvops_wall_clock wc{};
  EXPECT_EQ(pvops_get_wall_clock(&wc), PVOPS_ERR_BAD_DATA);
  rtc_.SetBcdTime(2023, 4, 31, 0, 0, 0);
  EXPECT_EQ(pvops_get_wall_clock(&wc), PVOPS_ERR_BAD_DATA);
}

TEST_F(NativeWallClockTest, TwelveHourModeRejectsHourZero) {
  rtc_.SetBcdTime(2023, 6, 15, 0, 0, 0);
  rtc_.Set(0x0b, 0x00);
  pvops_wall_clock wc{};
  EXPECT_EQ(pvops_get_wall_clock(&wc), PVOPS_ERR_BAD_DATA);
}

TEST_F(NativeWallClockTest, NullOutputIsInvalid) {
  EXPECT_EQ(pvops_get_wall_clock(nullptr), PVOPS_ERR_INVALID);
}

class NativeNoRtcTest : public NativeMachineTest {};

TEST_F(NativeNoRtcTest, AnAbsentRtcNeverLeavesItsUpdate) {
  Boot();  // port 0x71 reads 0xff: UIP stuck high
  pvops_wall_clock wc{};
  EXPECT_EQ(pvops_get_wall_clock(&wc), PVOPS_ERR_TIMEOUT);
}

}  // namespace
}  // namespace pvops::test
