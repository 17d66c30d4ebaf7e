// The native clock (TSC frequency from CPUID 0x15, 0x16 or the PIT; clock_ns scaled from the
// TSC and never going back) and the CMOS wall clock.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

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
  // would echo leaf 0xd): the rate must come from the PIT.
  model_.max_basic_leaf = 0xd;
  sim_.SetTicksPerInstruction(1000);
  sim::SimPit pit(sim_, 3'000'000);
  Boot();
  EXPECT_EQ(native::ClockSource(), TscSource::kPit);
  EXPECT_NEAR(static_cast<double>(pvops_tsc_khz()), 3e6, 3e3);
}

TEST_F(NativeClockTest, PitCalibrationProgramsChannel2InMode0) {
  model_.max_basic_leaf = 0xd;
  sim_.SetTicksPerInstruction(1000);
  sim::SimPit pit(sim_, 1'500'000);
  sim_.ClearLogs();
  const uint64_t khz = native::MeasureTscKhzWithPit();
  EXPECT_NEAR(static_cast<double>(khz), 1.5e6, 1.5e3);
  EXPECT_THAT(sim_.PortWrites(0x43), ::testing::ElementsAre(0xb0u));
  EXPECT_THAT(sim_.PortWrites(0x42), ::testing::ElementsAre(0x37u, 0x5du));  // 23863 ticks
  const std::vector<uint32_t> port_b = sim_.PortWrites(0x61);
  ASSERT_EQ(port_b.size(), 2u);
  EXPECT_EQ(port_b[0] & 3u, 1u);  // gate on, speaker off
  EXPECT_EQ(pit.latch(), 23863u);
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
